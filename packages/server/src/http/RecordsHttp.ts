/**
 * The records routes of the contract (SPEC §1.3–§1.5, §1.7–§1.9): batch append and upsert, the single-record
 * write, and reads of stored rows. The writes read their own body (`handleRaw`): admission control and a declared size
 * over the limit are decided before reading, gzip is undone with a cap, and the exact text is what the idempotency key fingerprints and
 * what the job stores.
 */
import { type ApiError, BatchwriteApi, Caller } from "@batchwrite/api"
import { Limits, type Job } from "@batchwrite/core"
import { HttpApiBuilder, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import { Admission } from "../services/Admission.js"
import { BatchAcceptance } from "../services/BatchAcceptance.js"
import { Jobs } from "../services/Jobs.js"
import { type Filters, Records, type WriteResult } from "../services/Records.js"
import type { IdempotencyScope } from "../storage/IdempotencyRepo.js"
import { requireScope } from "./Authentication.js"
import { answering, refusedResponse } from "./ErrorMapping.js"
import { type HeldKey, parseIdempotencyKey, withIdempotency } from "./IdempotentRequest.js"
import { preferredWait } from "./Prefer.js"
import { readJsonBody } from "./RequestBody.js"
import { noteRecords } from "./RequestRecords.js"
import { ok, success, type TextResponse, toHttp } from "./Responses.js"
import { pathOf } from "./RouteTable.js"

/** The idempotency scope of a POST carrying a key. */
const keyScope = (request: HttpServerRequest.HttpServerRequest, header: string | undefined) =>
  Effect.gen(function* () {
    const { workspace } = yield* Caller
    const key = yield* parseIdempotencyKey(header)
    return Option.map(key, (key): IdempotencyScope => ({ workspace, method: "POST", path: pathOf(request), key }))
  })

/** The `202` of an accepted batch, `Location` pointing at its job. */
const acceptedResponse = (accepted: Job.AcceptedBatch): TextResponse =>
  success(202, accepted, { location: `/public/v1${accepted.statusPath}` })

const writtenResponse = (objectName: string, written: WriteResult): TextResponse => {
  if (written._tag === "Queued") return acceptedResponse(written.accepted)
  const data = { outcome: written.outcome, record: written.record }
  return written.outcome === "inserted"
    ? success(201, data, { location: `/public/v1/records/${objectName}/${written.record._id}` })
    : success(200, data)
}

/**
 * A write's request, the same for every write route: the `records:write` scope, the idempotency key, admission from
 * the headers before the body is read (`services/Admission.ts`: its body bytes held until the answer, or the `503`
 * with `Retry-After`), the body, and `handle` under the key (replayed, or run and stored).
 */
const admittedWrite = <R>(
  request: HttpServerRequest.HttpServerRequest,
  idempotencyKey: string | undefined,
  handle: (workspace: string, body: string, key: HeldKey) => Effect.Effect<TextResponse, ApiError, R>
) =>
  Effect.gen(function* () {
    const { workspace } = yield* requireScope("records:write")
    const scope = yield* keyScope(request, idempotencyKey)
    const admission = yield* Admission
    return yield* admission.admitting(
      workspace,
      request.headers,
      (refusal) => toHttp(refusedResponse(refusal)),
      Effect.gen(function* () {
        const body = yield* readJsonBody(request)
        return toHttp(yield* withIdempotency(scope, body, (key) => handle(workspace, body, key)))
      })
    )
  })

const batch =
  (operation: Job.Operation) =>
  ({
    headers,
    path,
    request
  }: {
    readonly request: HttpServerRequest.HttpServerRequest
    readonly path: { readonly object: string }
    readonly headers: { readonly "idempotency-key"?: string | undefined; readonly prefer?: string | undefined }
  }) =>
    Effect.gen(function* () {
      const wait = preferredWait(headers.prefer)
      const acceptance = yield* BatchAcceptance
      const jobs = yield* Jobs
      return yield* admittedWrite(request, headers["idempotency-key"], (workspace, body, key) =>
        Effect.gen(function* () {
          const batchRequest = { workspace, objectName: path.object, operation, body }
          const accepted = yield* answering(
            acceptance.accept(batchRequest, (accepted) => key.completeWithin(acceptedResponse(accepted)))
          )
          yield* noteRecords(accepted.acceptedRecords)
          if (Option.isNone(wait)) return acceptedResponse(accepted)
          const finished = yield* answering(
            jobs.awaitFinished(workspace, path.object, accepted.jobId, wait.value, "all")
          )
          return Option.match(finished, {
            onNone: () => acceptedResponse(accepted),
            onSome: (job) => success(200, job, { "preference-applied": `wait=${wait.value}` })
          })
        })
      )
    })

const reservedParams = new Set(["limit", "cursor"])

const filtersOf = (request: HttpServerRequest.HttpServerRequest): Filters =>
  Array.from(new URL(request.url, "http://localhost").searchParams).filter(([name]) => !reservedParams.has(name))

/** The handlers of the records group. */
export const RecordsHttpLive = HttpApiBuilder.group(BatchwriteApi, "records", (handlers) =>
  handlers
    .handleRaw("appendBatch", batch("append-batch"))
    .handleRaw("upsertBatch", batch("upsert-batch"))
    .handleRaw("writeRecord", ({ headers, path, request, urlParams }) =>
      Effect.flatMap(Records, (records) =>
        admittedWrite(request, headers["idempotency-key"], (workspace, body) =>
          Effect.gen(function* () {
            const written = yield* answering(records.write(workspace, path.object, urlParams.mode ?? "append", body))
            yield* noteRecords(1)
            return writtenResponse(path.object, written)
          })
        )
      )
    )
    .handle("listRecords", ({ path, request, urlParams }) =>
      Effect.gen(function* () {
        const { workspace } = yield* requireScope("records:read")
        const records = yield* Records
        const filters = filtersOf(request)
        if ((request.headers.accept ?? "").includes("application/x-ndjson")) {
          const rows = yield* answering(records.stream(workspace, path.object, filters))
          const lines = rows.pipe(
            Stream.map((record) => `${JSON.stringify(record)}\n`),
            Stream.encodeText
          )
          return HttpServerResponse.stream(lines, { contentType: "application/x-ndjson; charset=utf-8" })
        }
        const query = {
          limit: urlParams.limit ?? Math.min(Limits.defaultPageLimit, Limits.maxPageLimit),
          cursor: urlParams.cursor,
          filters
        }
        return ok(yield* answering(records.list(workspace, path.object, query)))
      })
    )
    .handle("getRecord", ({ path }) =>
      Effect.gen(function* () {
        const { workspace } = yield* requireScope("records:read")
        const records = yield* Records
        return ok(yield* answering(records.get(workspace, path.object, path.id)))
      })
    )
)
