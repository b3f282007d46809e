/**
 * The examples of the API reference: for each route a request (path parameters, query, headers, body) and its
 * answers, success and error, with the messages the service really sends. Success bodies are encoded through the
 * route's response schema and error bodies through their envelope schema, so an example that drifts from the contract
 * fails when this module loads. `documentExamples` (OpenApiExamples.ts) puts them in the OpenAPI document.
 */
import { ErrorCode, Job, Keys, ObjectSchema, type StoredRecord } from "@batchwrite/core"
import { Schema } from "effect"
import {
  type ApiError,
  envelopeOf,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  InternalError,
  JobNotFound,
  MethodNotAllowed,
  ObjectConflict,
  ObjectNotFound,
  PayloadTooLarge,
  RateLimited,
  RecordNotFound,
  RequestInvalid,
  RequestTimeout,
  RouteNotFound,
  SchemaMismatch,
  ServiceUnavailable,
  Unauthorized,
  UnsupportedMediaType
} from "./ApiErrors.js"
import {
  AcceptedBatchResponse,
  HealthResponse,
  JobErrorsPageResponse,
  JobResponse,
  ObjectResponse,
  ObjectsListResponse,
  ReadinessResponse,
  RecordInsertedResponse,
  RecordsPageResponse,
  RecordUpdatedResponse,
  StoredRecordResponse
} from "./Responses.js"

/** One named example of a body (an OpenAPI Example Object). */
export interface Example {
  readonly summary: string
  readonly value: unknown
}

/** The examples of one route: the request a reader can send as it is, and its answers by status. */
export interface RouteExamples {
  /** The value of each path parameter. */
  readonly path?: Readonly<Record<string, string>>
  /** Query parameters. */
  readonly query?: Readonly<Record<string, string>>
  /** Request headers besides `Authorization` and `Content-Type` (`Idempotency-Key`, `Prefer`). */
  readonly headers?: Readonly<Record<string, string>>
  /** The request body. */
  readonly body?: Example
  /** Success answers by status, each by name. */
  readonly answers?: Readonly<Record<string, Readonly<Record<string, Example>>>>
  /** Error examples of this route that say more than the general ones of their code. */
  readonly errors?: ReadonlyArray<ApiError>
  /**
   * More ways to send the request, each shown as its own curl command: a summary and its headers, instead of
   * `headers` (the batch routes: `Prefer: wait=10`, answered `200` with the job).
   */
  readonly variants?: ReadonlyArray<{ readonly summary: string; readonly headers: Readonly<Record<string, string>> }>
}

/** An answer: `data` in the success envelope, encoded by the route's response schema. */
const encode =
  <A, I>(schema: Schema.Schema<{ readonly success: true; readonly data: A }, I>) =>
  (summary: string, data: A): Example => ({ summary, value: Schema.encodeSync(schema)({ success: true, data }) })

const jobId = "rjob_01JSE6X4QK2M8N3P5R7T9V1W3Y"
const upsertJobId = "rjob_01JSE6X9D3F5H7K9M1N3P5R7TV"
const createdAt = "2026-04-21T15:00:01.204Z"
const startedAt = "2026-04-21T15:00:01.211Z"
const completedAt = "2026-04-21T15:00:01.236Z"

const events = [
  { event: "page_view", occurred_at: "2026-04-21T15:00:00Z", url: "https://example.com/pricing", user_id: "u_123" },
  { event: "signup", occurred_at: "2026-04-21T15:02:10Z", user_id: "u_123" }
]

const profiles = [
  { email: "ada@example.com", first_name: "Ada", tier: "gold" },
  { email: "grace@example.com", first_name: "Grace", last_seen_at: "2026-04-21T15:00:00Z" }
]

const zoneless = { event: "signup", occurred_at: "2026-04-21T15:02:10", user_id: "u_123" }

const zonelessError = {
  index: 1,
  code: ErrorCode.RequestInvalid,
  field: "occurred_at",
  pointer: "/records/1/occurred_at",
  message: "datetime needs a zone: 2026-04-21T15:02:10"
}

/** The `202` of a batch of two records. */
const accepted = (operation: Job.Operation, objectName: string, id: string): Example =>
  encode(AcceptedBatchResponse)("Stored and queued: poll statusPath (also the Location header)", {
    operation,
    objectName,
    jobId: id,
    state: "queued",
    acceptedRecords: 2,
    statusPath: Job.jobStatusPath(objectName, id)
  })

const metrics = (counts: Partial<Job.JobMetrics>): Job.JobMetrics => ({
  totalRows: 2,
  processedRows: 2,
  insertedRows: 0,
  updatedRows: 0,
  staleRows: 0,
  invalidRows: 0,
  ...counts
})

const completedJob = (
  operation: Job.Operation,
  objectName: string,
  id: string,
  sequence: number,
  counts: Partial<Job.JobMetrics>,
  errors: Job.Job["errors"] = []
): Job.Job => ({
  jobId: id,
  operation,
  objectName,
  sequence,
  state: "completed",
  acceptedRecords: 2,
  createdAt,
  startedAt,
  completedAt,
  metrics: metrics(counts),
  errors,
  errorsPath: Job.jobErrorsPath(objectName, id)
})

const storedRow = (id: string, fields: Record<string, unknown>, updatedAt = createdAt): StoredRecord.StoredRecord => ({
  ...fields,
  _id: id,
  _createdAt: createdAt,
  _updatedAt: updatedAt
})

const waitVariant = [
  {
    summary:
      "waiting up to 10 s for the job, answered 200 with the job when it is done in time (no Idempotency-Key: " +
      "with the one above, this would replay the first answer)",
    headers: { Prefer: "wait=10" }
  }
]

/** The message of a batch body that has no `records` array, as the service words it. */
const noRecordsArray = new RequestInvalid({ message: 'the body needs a "records" array, got nothing' })

/** The examples of a batch route: its body with the recipe's key, the 202 and the 200s of `Prefer: wait=10`. */
const batchRoute = (
  operation: Job.Operation,
  objectName: string,
  id: string,
  body: { readonly summary: string; readonly records: ReadonlyArray<unknown>; readonly matchKey?: string },
  completed: Readonly<Record<string, readonly [summary: string, job: Job.Job]>>
): RouteExamples => ({
  path: { object: objectName },
  headers: { "Idempotency-Key": Keys.batchIdempotencyKey(body.records) },
  body: {
    summary: body.summary,
    value: body.matchKey === undefined ? { records: body.records } : { records: body.records, matchKey: body.matchKey }
  },
  variants: waitVariant,
  answers: {
    "202": { accepted: accepted(operation, objectName, id) },
    "200": Object.fromEntries(
      Object.entries(completed).map(([name, [summary, job]]) => [name, encode(JobResponse)(summary, job)])
    )
  }
})

const appendBatch: RouteExamples = {
  ...batchRoute(
    "append-batch",
    "events",
    jobId,
    { summary: "Two events", records: events },
    {
      completed: [
        "With Prefer: wait=10, the job done in time",
        completedJob("append-batch", "events", jobId, 1042, { insertedRows: 2 })
      ],
      rowRejected: [
        "With Prefer: wait=10, a batch whose second record has no time zone: that row is rejected, the other is stored",
        completedJob("append-batch", "events", jobId, 1042, { insertedRows: 1, invalidRows: 1 }, [zonelessError])
      ]
    }
  ),
  errors: [noRecordsArray]
}

const upsertBatch: RouteExamples = {
  ...batchRoute(
    "upsert-batch",
    "profiles",
    upsertJobId,
    { summary: "Two profiles merged by email", records: profiles, matchKey: "email" },
    {
      completed: [
        "With Prefer: wait=10, the job done in time (both profiles new; sent again, both rows are updated)",
        completedJob("upsert-batch", "profiles", upsertJobId, 1043, { insertedRows: 2 })
      ]
    }
  ),
  errors: [
    new RequestInvalid({
      message: `"tier" is not a match key of object 'profiles'; use one of ["email","external_id"]`,
      details: { matchKey: "tier", matchKeys: ["email", "external_id"] }
    }),
    new SchemaMismatch({
      message: "a field is not on object 'profiles': nickname (first at record 1); remove it or add it to the object",
      unknownFields: [{ field: "nickname", firstIndex: 1 }]
    })
  ]
}

const signup = { event: "signup", occurred_at: "2026-04-21T15:00:00Z", user_id: "u_123" }

const writeRecord: RouteExamples = {
  path: { object: "events" },
  body: { summary: "One event (append)", value: signup },
  answers: {
    "201": {
      inserted: encode(RecordInsertedResponse)("A new row", { outcome: "inserted", record: storedRow("5", signup) })
    },
    "200": {
      updated: encode(RecordUpdatedResponse)(
        'With ?mode=upsert and {"record": {"email": "ada@example.com", "tier": "platinum"}, "matchKey": "email"}',
        {
          outcome: "updated",
          record: storedRow("3", { email: "ada@example.com", first_name: "Ada", tier: "platinum" }, completedAt)
        }
      )
    }
  },
  errors: [
    RequestInvalid.invalidRecord([
      {
        index: 0,
        code: ErrorCode.RequestInvalid,
        field: "occurred_at",
        pointer: "/occurred_at",
        message: "not an RFC 3339 date-time like 2026-04-21T15:00:00Z: yesterday"
      }
    ])
  ]
}

const listRecords: RouteExamples = {
  path: { object: "profiles" },
  query: { email: "ada@example.com" },
  answers: {
    "200": {
      page: encode(RecordsPageResponse)("The rows whose email is ada@example.com", {
        records: [storedRow("3", profiles[0]!)],
        nextCursor: null
      })
    }
  },
  errors: [
    new RequestInvalid({
      message: `filter by one match key of 'profiles': ["email","external_id"]`,
      details: { matchKeys: ["email", "external_id"] }
    })
  ]
}

const getRecord: RouteExamples = {
  path: { object: "events", id: "5" },
  answers: { "200": { row: encode(StoredRecordResponse)("The row", storedRow("5", signup)) } }
}

const getJob: RouteExamples = {
  path: { object: "events", jobId },
  answers: {
    "200": {
      completed: encode(JobResponse)(
        "A completed job with one rejected row",
        completedJob("append-batch", "events", jobId, 1042, { insertedRows: 1, invalidRows: 1 }, [zonelessError])
      )
    }
  }
}

const listJobErrors: RouteExamples = {
  path: { object: "events", jobId },
  query: { limit: "100" },
  answers: {
    "200": {
      page: encode(JobErrorsPageResponse)("Every row error, each with its record", {
        errors: [{ ...zonelessError, record: zoneless }],
        nextCursor: null
      })
    }
  }
}

const products = {
  fields: { sku: { type: "string", required: true }, price: { type: "number" } },
  matchKeys: ["sku"]
} as const

const productsObject: ObjectSchema.ObjectDefinition = { name: "products", ...products }

const listObjects: RouteExamples = {
  answers: {
    "200": {
      objects: encode(ObjectsListResponse)("The objects every workspace starts with", {
        objects: ObjectSchema.defaultObjects
      })
    }
  }
}

const getObject: RouteExamples = {
  path: { name: "profiles" },
  answers: { "200": { object: encode(ObjectResponse)("The profiles object", ObjectSchema.profilesObject) } }
}

const putObject: RouteExamples = {
  path: { name: "products" },
  body: { summary: "A products object merged by sku", value: products },
  answers: {
    "201": { created: encode(ObjectResponse)("Created", productsObject) },
    "200": { replaced: encode(ObjectResponse)("The schema replaced", productsObject) }
  },
  errors: [
    new ObjectConflict({
      message: "changing a field's type is not allowed: sku (string → number); add a new field instead",
      conflicts: [{ field: "sku", previousType: "string", nextType: "number" }]
    })
  ]
}

const root: RouteExamples = {
  answers: {
    "200": {
      index: {
        summary: "Where things are",
        value: {
          success: true,
          data: { service: "batchwrite", api: "/public/v1", docs: "/docs", openapi: "/public/v1/openapi.json" }
        }
      }
    }
  }
}

const healthz: RouteExamples = {
  answers: { "200": { up: encode(HealthResponse)("The process is up", { status: "ok" }) } }
}

const readyz: RouteExamples = {
  answers: {
    "200": {
      ready: encode(ReadinessResponse)("Ready", {
        status: "ready",
        checks: { storage: "ok", workers: "ok" },
        // An idle service with the default bounds, as the docs' test reads it back.
        admission: {
          inFlightBodyBytes: 0,
          maxInFlightBodyBytes: 268_435_456,
          backlogRecords: {},
          maxBacklogRecords: 2_000_000,
          drainRecordsPerSecond: 0
        }
      })
    }
  },
  errors: [
    new ServiceUnavailable({
      message: "not ready: storage or the job workers are failing",
      details: { checks: { storage: "failing", workers: "ok" } }
    })
  ]
}

/** The examples of each route, by `operationId`. */
export const routeExamples: Readonly<Record<string, RouteExamples>> = {
  "records.appendBatch": appendBatch,
  "records.upsertBatch": upsertBatch,
  "records.writeRecord": writeRecord,
  "records.listRecords": listRecords,
  "records.getRecord": getRecord,
  "jobs.getJob": getJob,
  "jobs.listJobErrors": listJobErrors,
  "objects.listObjects": listObjects,
  "objects.getObject": getObject,
  "objects.putObject": putObject,
  "ops.root": root,
  "ops.healthz": healthz,
  "ops.readyz": readyz,
  "ops.metrics": {},
  "ops.openApiJson": {},
  "ops.docs": {}
}

/** An example of every error code, with the message the service sends; a route's own examples come first. */
export const errorExamples: ReadonlyArray<ApiError> = [
  noRecordsArray,
  new SchemaMismatch({
    message: "a field is not on object 'events': colour (first at record 0); remove it or add it to the object",
    unknownFields: [{ field: "colour", firstIndex: 0 }]
  }),
  new Unauthorized({ message: "missing or unknown token: send 'Authorization: Bearer <token>'" }),
  new Forbidden({ message: "this token lacks the 'records:write' scope", details: { requiredScope: "records:write" } }),
  new ObjectNotFound({ message: "object 'evnts' does not exist in this workspace" }),
  new JobNotFound({ message: `job '${jobId}' does not exist for this object in this workspace` }),
  new RecordNotFound({ message: "record '99' does not exist in 'events'" }),
  new RouteNotFound({ message: "no route GET /public/v1/record/events; the API lives under /public/v1 (see /docs)" }),
  new MethodNotAllowed({
    message: "DELETE is not a method of /public/v1/objects/products; use GET, PUT, HEAD",
    details: { allow: ["GET", "PUT", "HEAD"] }
  }),
  new RequestTimeout({ message: "the request body was not received in time; send it again" }),
  new IdempotencyInProgress({
    message: "a request with this Idempotency-Key is still being handled; retry after a moment",
    retryAfter: 1
  }),
  new PayloadTooLarge({
    message:
      "request body of 11000000 bytes is over the limit of 10485760 bytes (measured after gzip is undone); split " +
      "the batch (at most 10000 records and 10485760 bytes per request)",
    limit: 10_485_760,
    size: 11_000_000
  }),
  new UnsupportedMediaType({
    message: "the body must be JSON: send 'Content-Type: application/json' (got 'text/plain')"
  }),
  new IdempotencyKeyReused({
    message: "this Idempotency-Key was used with a different body; use a new key for a different batch"
  }),
  new RateLimited({ message: "rate limit of this token exceeded; retry after 1 s", retryAfter: 1 }),
  new InternalError({ message: "internal error; the request was not applied" }),
  new ServiceUnavailable({
    message: "storage is unavailable; the request was not applied: send it again after 1 s"
  })
]

/** The example envelope of an error, named by its code's last part (`REQUEST_INVALID`, `OBJECT`…). */
export const errorExample = (error: ApiError): Example => ({
  summary: error.message,
  value: envelopeOf(error)
})
