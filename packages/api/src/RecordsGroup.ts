/**
 * The records routes (SPEC §1.3–§1.5, §1.7–§1.9): batch append and upsert, the single-record write, and reads of
 * stored rows. Bearer auth; every response carries `RateLimit` and `RateLimit-Policy`.
 */
import { Job } from "@batchwrite/core"
import { HttpApiEndpoint, type HttpMethod, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  IdempotencyInProgressEnvelope,
  IdempotencyKeyReusedEnvelope,
  ObjectNotFoundEnvelope,
  PayloadTooLargeEnvelope,
  RecordNotFoundEnvelope,
  RequestInvalidEnvelope,
  RequestTimeoutEnvelope,
  SchemaMismatchEnvelope,
  UnsupportedMediaTypeEnvelope
} from "./ApiErrors.js"
import { Authorization, authenticatedGroup } from "./Authorization.js"
import { basePath } from "./BasePath.js"
import { ObjectParam, RecordIdParam } from "./PathParams.js"
import { BatchHeaders, IdempotencyHeaders, ListRecordsParams } from "./RequestParameters.js"
import {
  AcceptedBatchResponse,
  JobResponse,
  RecordInsertedResponse,
  RecordsPageResponse,
  RecordUpdatedResponse,
  StoredRecordResponse
} from "./Responses.js"

const acceptance =
  "Checked before anything is queued; a failed check rejects the whole request: body over 10 MB after gzip is " +
  "undone (413), not JSON or a bad `records` array (400 `REQUEST_INVALID`), more than 10,000 records (400 " +
  "`REQUEST_INVALID`, `details: {limit, count}`), a field not on the schema (400 `REQUEST_SCHEMA`, " +
  "`details: {unknownFields}`), unknown object (404), `Content-Type` not JSON (415). A record that is not a JSON " +
  "object is not one of them: it is that row's error (`REQUEST_INVALID`, pointer `/records/N`) and the other " +
  "records are applied. Otherwise the batch, its job " +
  "and its idempotency record are stored in one transaction and the answer is `202` with `Location` pointing at " +
  "the job. With `Prefer: wait=N` (N ≤ 30) a job terminal within N seconds is answered `200` with the job, every " +
  "row error inline, and `Preference-Applied: wait=N`. `Idempotency-Key`: a replay answers the stored response " +
  "byte for byte with `Idempotent-Replayed: true`; a different body 422; while the first is in flight 409 with " +
  "`Retry-After`. The body may be sent with `Content-Encoding: gzip`."

/**
 * The errors every write route can answer besides those of its group: a bad request (400), an unknown object (404),
 * a body too slow (408), an idempotency key in flight (409) or reused with another body (422), a body too large
 * (413), a content type that is not JSON (415).
 */
const writeErrors = <
  Name extends string,
  Method extends HttpMethod.HttpMethod,
  Path,
  UrlParams,
  Payload,
  Headers,
  Success,
  Error,
  R,
  RE
>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method, Path, UrlParams, Payload, Headers, Success, Error, R, RE>
) =>
  endpoint
    .addError(RequestInvalidEnvelope)
    .addError(ObjectNotFoundEnvelope)
    .addError(RequestTimeoutEnvelope)
    .addError(IdempotencyInProgressEnvelope)
    .addError(PayloadTooLargeEnvelope)
    .addError(UnsupportedMediaTypeEnvelope)
    .addError(IdempotencyKeyReusedEnvelope)

/** `POST /public/v1/records/{object}/append-batch`: 1 to 10,000 records, each a new row. */
export const appendBatch = HttpApiEndpoint.post("appendBatch")`/records/${ObjectParam}/append-batch`
  .setHeaders(BatchHeaders)
  .setPayload(Job.AppendBatchBody)
  .addSuccess(AcceptedBatchResponse, { status: 202 })
  .addSuccess(JobResponse)
  .pipe(writeErrors)
  .addError(SchemaMismatchEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Append a batch of records",
      description:
        'Body `{"records": [{…}, …]}`: 1 to 10,000 records, each a JSON object; every record becomes a new row ' +
        `(no merge, no dedup). ${acceptance}`
    })
  )

/** `POST /public/v1/records/{object}/upsert-batch`: 1 to 10,000 records merged by a match key. */
export const upsertBatch = HttpApiEndpoint.post("upsertBatch")`/records/${ObjectParam}/upsert-batch`
  .setHeaders(BatchHeaders)
  .setPayload(Job.UpsertBatchBody)
  .addSuccess(AcceptedBatchResponse, { status: 202 })
  .addSuccess(JobResponse)
  .pipe(writeErrors)
  .addError(SchemaMismatchEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Upsert a batch of records by a match key",
      description:
        'Body `{"records": [{…}, …], "matchKey": "email"}`; `matchKey` must be one of the object\'s match keys ' +
        "(else 400 `REQUEST_INVALID`). Each record merges field by field into the row with the same match key " +
        "value, or inserts a new row; a record without a value for the match key is a row error. Last write wins, " +
        "in array order within a batch and in acceptance order (`sequence`) across batches; with an `orderBy` " +
        `field, an older record is not applied (\`staleRows\`). ${acceptance}`
    })
  )

/** The body of an append single write: the record itself. */
export const RecordBody = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "RecordBody",
  description: "The record itself (append)"
})

/** The body of an upsert single write (`?mode=upsert`): the record and the match key it merges by. */
export const UpsertRecordBody = Schema.Struct({
  record: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  matchKey: Schema.String
}).annotations({ identifier: "UpsertRecordBody", description: "The record and the match key it merges by (upsert)" })

/** The body of an upsert single write. */
export type UpsertRecordBody = typeof UpsertRecordBody.Type

/** `?mode=` of the single write: `append` (default) or `upsert`. */
export const WriteRecordParams = Schema.Struct({
  mode: Schema.optional(
    Schema.Literal("append", "upsert").annotations({
      description: 'append (default): the body is the record; upsert: the body is {"record": {…}, "matchKey": "…"}'
    })
  )
})

/** `POST /public/v1/records/{object}`: one record, written synchronously. */
export const writeRecord = HttpApiEndpoint.post("writeRecord")`/records/${ObjectParam}`
  .setUrlParams(WriteRecordParams)
  .setHeaders(IdempotencyHeaders)
  .setPayload(Schema.Union(UpsertRecordBody, RecordBody))
  .addSuccess(RecordInsertedResponse, { status: 201 })
  .addSuccess(RecordUpdatedResponse)
  .addSuccess(AcceptedBatchResponse, { status: 202 })
  .pipe(writeErrors)
  .annotateContext(
    OpenApi.annotations({
      summary: "Write one record",
      description:
        'Synchronous. Append: the body is the record itself. Upsert (`?mode=upsert`): `{"record": {…}, ' +
        '"matchKey": "…"}`. Answers `201` (`outcome: "inserted"`, `Location` pointing at the row) or `200` ' +
        '(`"updated"`, or `"stale"` when the object\'s `orderBy` says the record is older than the stored row, ' +
        "which is left as it is), with the row as stored. A write that can touch another row (an upsert, or an append " +
        "carrying a match-key value) takes its place in the acceptance order as a one-record job; when that job is " +
        "not done within 30 s the answer is `202` with the job (`Location` pointing at it), like a batch's, and that " +
        "is the answer an `Idempotency-Key` replays. An invalid record is `400 REQUEST_INVALID` with every " +
        "problem of the row in `details.errors` (row errors, pointers relative to the body: `/field` for an " +
        "append, `/record/field` for an upsert). Same auth, idempotency and rate limits as the batch routes."
    })
  )

/** Documents what `HttpApi` cannot type: the `{matchKey}={value}` filter and the NDJSON form of the response. */
const listRecordsOpenApi = (operation: Record<string, unknown>): Record<string, unknown> => {
  const parameters = (operation.parameters as Array<unknown> | undefined) ?? []
  const responses = (operation.responses as Record<string, { content?: Record<string, unknown> }>) ?? {}
  const ok = responses["200"]
  return {
    ...operation,
    parameters: [
      ...parameters,
      {
        name: "filter",
        in: "query",
        required: false,
        style: "form",
        explode: true,
        description:
          "`{matchKey}={value}`: only the rows whose match key has this value (for example `?email=a@example.com`)",
        schema: { type: "object", additionalProperties: { type: "string" } }
      }
    ],
    responses: {
      ...responses,
      "200": {
        ...ok,
        content: {
          ...ok?.content,
          "application/x-ndjson": {
            schema: { $ref: "#/components/schemas/StoredRecord" },
            description: "With `Accept: application/x-ndjson`: every matching row, one JSON object per line"
          }
        }
      }
    }
  }
}

/** `GET /public/v1/records/{object}`: the stored rows, oldest first, a page at a time. */
export const listRecords = HttpApiEndpoint.get("listRecords")`/records/${ObjectParam}`
  .setUrlParams(ListRecordsParams)
  .addSuccess(RecordsPageResponse)
  .addError(RequestInvalidEnvelope)
  .addError(ObjectNotFoundEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "List stored records",
      description:
        "The stored rows, oldest first, as `{records, nextCursor}` (`limit` ≤ 1,000, default 100; pass " +
        "`nextCursor` back as `cursor`; `null` on the last page). `?{matchKey}={value}` keeps the rows whose match " +
        "key has that value. With `Accept: application/x-ndjson` the response streams every matching row, one " +
        "JSON object per line, with no envelope and no paging.",
      transform: listRecordsOpenApi
    })
  )

/** `GET /public/v1/records/{object}/{id}`: one stored row by its `_id`. */
export const getRecord = HttpApiEndpoint.get("getRecord")`/records/${ObjectParam}/${RecordIdParam}`
  .addSuccess(StoredRecordResponse)
  .addError(ObjectNotFoundEnvelope)
  .addError(RecordNotFoundEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Get one stored record",
      description:
        "The row with this `_id`. (`jobs` is not a row id: `…/{object}/jobs/{jobId}` is the job route; row ids " +
        "are made by the service and never collide with it.)"
    })
  )

/** The records routes, under `/public/v1`, with bearer auth. */
export const RecordsGroup = authenticatedGroup("records")
  .add(appendBatch)
  .add(upsertBatch)
  .add(writeRecord)
  .add(listRecords)
  .add(getRecord)
  .prefix(basePath)
  .middleware(Authorization)
  .annotateContext(
    OpenApi.annotations({
      title: "records",
      description: "Batch and single writes, and reads of stored rows"
    })
  )
