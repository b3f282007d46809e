import { ErrorCode } from "@batchwrite/core"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import {
  BatchwriteApi,
  type BatchwriteClient,
  clientBaseUrl,
  IdempotencyInProgress,
  JobNotFound,
  ObjectConflict,
  ObjectNotFound,
  PayloadTooLarge,
  preferWait,
  RateLimited,
  RecordNotFound,
  RequestInvalid,
  SchemaMismatch,
  ServiceUnavailable,
  Unauthorized
} from "../src/index.js"
import { json, TestServer, TestServerLive } from "./TestServer.js"

const jobId = "rjob_01JD5X8Q2W3E4R5T6Y7Z8A9B0C"

const accepted = {
  success: true,
  data: {
    operation: "upsert-batch",
    objectName: "profiles",
    jobId,
    state: "queued",
    acceptedRecords: 2,
    statusPath: `/records/profiles/jobs/${jobId}`
  }
} as const

const job = {
  success: true,
  data: {
    jobId,
    operation: "append-batch",
    objectName: "events",
    sequence: 1042,
    state: "completed",
    acceptedRecords: 3,
    createdAt: "2026-04-21T15:00:00.000Z",
    startedAt: "2026-04-21T15:00:00.100Z",
    completedAt: "2026-04-21T15:00:00.200Z",
    metrics: { totalRows: 3, processedRows: 3, insertedRows: 2, updatedRows: 0, staleRows: 0, invalidRows: 1 },
    errors: [
      {
        index: 2,
        code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
        field: "occurred_at",
        pointer: "/records/2/occurred_at",
        message: "datetime needs a zone: 2026-04-21T15:00:00"
      }
    ],
    errorsPath: `/records/events/jobs/${jobId}/errors`
  }
} as const

const storedRow = {
  _id: "rec_01JD5X8Q2W3E4R5T6Y7Z8A9B0C",
  _createdAt: "2026-04-21T15:00:00.000Z",
  _updatedAt: "2026-04-21T15:00:00.000Z",
  email: "ada@example.com",
  tier: "gold"
}

/** The typed client, against the test server, with a bearer token. */
const client: Effect.Effect<BatchwriteClient, never, TestServer | HttpClient.HttpClient> = Effect.flatMap(
  TestServer,
  (server) =>
    HttpApiClient.make(BatchwriteApi, {
      baseUrl: clientBaseUrl(`${server.origin}/public/v1`),
      transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken("secret-token"))
    })
)

const events = [{ event: "signup", occurred_at: "2026-04-21T15:00:00Z" }]

layer(Layer.merge(TestServerLive, FetchHttpClient.layer))("HttpApiClient over real HTTP", (it) => {
  it.effect("decodes a 202 into the accepted batch, sending the path, headers and body", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(json(202, accepted, { location: `/public/v1/records/profiles/jobs/${jobId}` }))
      const api = yield* client
      const result = yield* api.records.upsertBatch({
        path: { object: "profiles" },
        headers: { "idempotency-key": "3f2b7c1e-1111-2222-3333-444455556666" },
        payload: { records: [{ email: "ada@example.com" }, { email: "bob@example.com" }], matchKey: "email" }
      })
      assert.deepStrictEqual(result, accepted)
      const seen = yield* server.lastRequest
      assert.strictEqual(seen.method, "POST")
      assert.strictEqual(seen.url, "/public/v1/records/profiles/upsert-batch")
      assert.strictEqual(seen.headers.authorization, "Bearer secret-token")
      assert.strictEqual(seen.headers["idempotency-key"], "3f2b7c1e-1111-2222-3333-444455556666")
      assert.isUndefined(seen.headers.prefer)
      assert.match(seen.headers["content-type"] ?? "", /^application\/json/)
      assert.deepStrictEqual(JSON.parse(seen.body), {
        records: [{ email: "ada@example.com" }, { email: "bob@example.com" }],
        matchKey: "email"
      })
    })
  )

  it.effect("decodes a synchronous 200 into the job, with the status in withResponse", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(json(200, job, { "preference-applied": "wait=10" }))
      const api = yield* client
      const [result, response] = yield* api.records.appendBatch({
        path: { object: "events" },
        headers: { prefer: preferWait(10) },
        payload: { records: events },
        withResponse: true
      })
      assert.deepStrictEqual(result, job)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers["preference-applied"], "wait=10")
      assert.strictEqual((yield* server.lastRequest).headers.prefer, "wait=10")
    })
  )

  it.effect("decodes a job GET", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(json(200, job))
      const api = yield* client
      const result = yield* api.jobs.getJob({ path: { object: "events", jobId }, headers: {} })
      assert.strictEqual(result.data.sequence, 1042)
      assert.strictEqual(result.data.errors[0]?.pointer, "/records/2/occurred_at")
      assert.strictEqual((yield* server.lastRequest).url, `/public/v1/records/events/jobs/${jobId}`)
    })
  )

  it.effect("decodes a 400 REQUEST_SCHEMA into SchemaMismatch", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(
        json(400, {
          success: false,
          error: {
            code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
            message: "fields not on the schema of object events: colour",
            details: { unknownFields: [{ field: "colour", firstIndex: 1 }] }
          }
        })
      )
      const api = yield* client
      const error = yield* Effect.flip(
        api.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: events } })
      )
      assert.instanceOf(error, SchemaMismatch)
      assert.deepStrictEqual((error as SchemaMismatch).unknownFields, [{ field: "colour", firstIndex: 1 }])
    })
  )

  it.effect("decodes a 400 REQUEST_INVALID (too many records) into RequestInvalid", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(
        json(400, {
          success: false,
          error: {
            code: ErrorCode.RequestInvalid,
            message: "too many records",
            details: { limit: 10_000, count: 10_001 }
          }
        })
      )
      const api = yield* client
      const error = yield* Effect.flip(
        api.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: events } })
      )
      assert.instanceOf(error, RequestInvalid)
      assert.deepStrictEqual((error as RequestInvalid).tooManyRecords, { limit: 10_000, count: 10_001 })
    })
  )

  it.effect("decodes a 429 into RateLimited with retryAfter", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(
        json(
          429,
          { success: false, error: { code: "CDP_ETL.RATE_LIMITED", message: "slow down", details: { retryAfter: 4 } } },
          { "retry-after": "4" }
        )
      )
      const api = yield* client
      const error = yield* Effect.flip(
        api.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: events } })
      )
      assert.instanceOf(error, RateLimited)
      assert.strictEqual((error as RateLimited).retryAfter, 4)
    })
  )

  it.effect("decodes each 404 into the right NotFound", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* client
      const notFound = (code: string) => json(404, { success: false, error: { code, message: "not found" } })

      yield* server.reply(notFound("CDP_ETL.NOT_FOUND.JOB"))
      const job = yield* Effect.flip(api.jobs.getJob({ path: { object: "events", jobId }, headers: {} }))
      assert.instanceOf(job, JobNotFound)

      yield* server.reply(notFound("CDP_ETL.NOT_FOUND.OBJECT"))
      const object = yield* Effect.flip(api.jobs.getJob({ path: { object: "ghosts", jobId }, headers: {} }))
      assert.instanceOf(object, ObjectNotFound)

      yield* server.reply(notFound("CDP_ETL.NOT_FOUND.RECORD"))
      const record = yield* Effect.flip(api.records.getRecord({ path: { object: "profiles", id: "rec_missing" } }))
      assert.instanceOf(record, RecordNotFound)
      assert.strictEqual((yield* server.lastRequest).url, "/public/v1/records/profiles/rec_missing")
    })
  )

  it.effect("decodes a 401 into Unauthorized and a 409 into the right conflict", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* client
      yield* server.reply(
        json(401, { success: false, error: { code: "CDP_ETL.AUTH.UNAUTHORIZED", message: "unknown token" } })
      )
      assert.instanceOf(yield* Effect.flip(api.objects.listObjects()), Unauthorized)

      yield* server.reply(
        json(409, {
          success: false,
          error: { code: "CDP_ETL.IDEMPOTENCY.IN_PROGRESS", message: "in flight", details: { retryAfter: 1 } }
        })
      )
      const inProgress = yield* Effect.flip(
        api.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: events } })
      )
      assert.instanceOf(inProgress, IdempotencyInProgress)

      yield* server.reply(
        json(409, {
          success: false,
          error: {
            code: "CDP_ETL.OBJECT.CONFLICT",
            message: "tier would change type",
            details: { conflicts: [{ field: "tier", previousType: "string", nextType: "integer" }] }
          }
        })
      )
      const conflict = yield* Effect.flip(
        api.objects.putObject({
          path: { name: "profiles" },
          payload: { fields: { email: { type: "email", required: true }, tier: { type: "integer" } }, matchKeys: [] }
        })
      )
      assert.instanceOf(conflict, ObjectConflict)
      const seen = yield* server.lastRequest
      assert.strictEqual(seen.method, "PUT")
      assert.deepStrictEqual(JSON.parse(seen.body), {
        fields: { email: { type: "email", required: true }, tier: { type: "integer" } },
        matchKeys: []
      })
    })
  )

  it.effect("decodes a 413 into PayloadTooLarge with its limit and size", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(
        json(413, {
          success: false,
          error: {
            code: "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE",
            message: "body over 10485760 bytes",
            details: { limit: 10_485_760, size: 11_000_000 }
          }
        })
      )
      const api = yield* client
      const error = yield* Effect.flip(
        api.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: events } })
      )
      assert.instanceOf(error, PayloadTooLarge)
      assert.deepStrictEqual(
        [(error as PayloadTooLarge).limit, (error as PayloadTooLarge).size],
        [10_485_760, 11_000_000]
      )
    })
  )

  it.effect("writes one record: 201 inserted, and 400 with the row's errors", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* client
      yield* server.reply(json(201, { success: true, data: { outcome: "inserted", record: storedRow } }))
      const inserted = yield* api.records.writeRecord({
        path: { object: "profiles" },
        urlParams: { mode: "upsert" },
        headers: {},
        payload: { record: { email: "ada@example.com", tier: "gold" }, matchKey: "email" }
      })
      assert.ok("outcome" in inserted.data)
      assert.strictEqual(inserted.data.outcome, "inserted")
      assert.strictEqual(inserted.data.record._id, storedRow._id)
      assert.strictEqual(inserted.data.record.tier, "gold")
      const seen = yield* server.lastRequest
      assert.strictEqual(seen.url, "/public/v1/records/profiles?mode=upsert")
      assert.deepStrictEqual(JSON.parse(seen.body), {
        record: { email: "ada@example.com", tier: "gold" },
        matchKey: "email"
      })

      yield* server.reply(json(200, { success: true, data: { outcome: "stale", record: storedRow } }))
      const stale = yield* api.records.writeRecord({
        path: { object: "events" },
        urlParams: {},
        headers: {},
        payload: { event: "signup" }
      })
      assert.ok("outcome" in stale.data)
      assert.strictEqual(stale.data.outcome, "stale")
      assert.strictEqual((yield* server.lastRequest).url, "/public/v1/records/events")
      assert.deepStrictEqual(JSON.parse((yield* server.lastRequest).body), { event: "signup" })

      const rowError = {
        index: 0,
        code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
        field: "occurred_at",
        pointer: "/occurred_at",
        message: 'required field "occurred_at" is missing'
      } as const
      yield* server.reply(
        json(400, {
          success: false,
          error: {
            code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
            message: "invalid record",
            details: { errors: [rowError] }
          }
        })
      )
      const invalid = yield* Effect.flip(
        api.records.writeRecord({ path: { object: "events" }, urlParams: {}, headers: {}, payload: { event: "x" } })
      )
      assert.instanceOf(invalid, RequestInvalid)
      assert.deepStrictEqual((invalid as RequestInvalid).rowErrors, [rowError])
    })
  )

  it.effect("lists records with limit, cursor and a match key filter", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(json(200, { success: true, data: { records: [storedRow], nextCursor: null } }))
      const api = yield* client
      const page = yield* api.records.listRecords({
        path: { object: "profiles" },
        urlParams: { limit: 10, cursor: "c1", email: "ada@example.com" }
      })
      assert.deepStrictEqual(
        page.data.records.map((row) => row.email),
        ["ada@example.com"]
      )
      assert.isNull(page.data.nextCursor)
      const url = new URL((yield* server.lastRequest).url, "http://x")
      assert.strictEqual(url.pathname, "/public/v1/records/profiles")
      assert.deepStrictEqual(Object.fromEntries(url.searchParams), {
        limit: "10",
        cursor: "c1",
        email: "ada@example.com"
      })
    })
  )

  it.effect("pages through a job's errors", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(
        json(200, {
          success: true,
          data: { errors: [{ ...job.data.errors[0], record: { event: "x" } }], nextCursor: "next" }
        })
      )
      const api = yield* client
      const page = yield* api.jobs.listJobErrors({ path: { object: "events", jobId }, urlParams: { limit: 1 } })
      assert.deepStrictEqual(page.data.errors[0]?.record, { event: "x" })
      assert.strictEqual((yield* server.lastRequest).url, `/public/v1/records/events/jobs/${jobId}/errors?limit=1`)
    })
  )

  it.effect("reads the operations routes without a token scheme of their own", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* client
      yield* server.reply(json(200, { success: true, data: { status: "ok" } }))
      assert.deepStrictEqual(yield* api.ops.healthz(), { success: true, data: { status: "ok" } })

      yield* server.reply(
        json(503, {
          success: false,
          error: {
            code: "CDP_ETL.SERVER.UNAVAILABLE",
            message: "not ready",
            details: { checks: { storage: "failing", workers: "ok" } }
          }
        })
      )
      const notReady = yield* Effect.flip(api.ops.readyz())
      assert.instanceOf(notReady, ServiceUnavailable)

      const text = "# TYPE batchwrite_requests_total counter\nbatchwrite_requests_total 1\n"
      yield* server.reply({ status: 200, body: text, headers: { "content-type": "text/plain; version=0.0.4" } })
      assert.strictEqual(yield* api.ops.metrics(), text)
    })
  )

  it.effect("fails with a ResponseError on a status the endpoint does not declare", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      yield* server.reply(json(418, { success: false, error: { code: "CDP_ETL.TEAPOT", message: "no" } }))
      const api = yield* client
      const error = yield* Effect.flip(api.objects.listObjects())
      assert.instanceOf(error, HttpClientError.ResponseError)
    })
  )
})

describe("clientBaseUrl", () => {
  it("strips /public/v1 from an API URL as users write it", () => {
    assert.strictEqual(clientBaseUrl("http://127.0.0.1:8787/public/v1"), "http://127.0.0.1:8787")
    assert.strictEqual(clientBaseUrl("http://127.0.0.1:8787/public/v1/"), "http://127.0.0.1:8787")
    assert.strictEqual(clientBaseUrl("https://api.example"), "https://api.example")
    assert.strictEqual(clientBaseUrl(new URL("https://api.example/")), "https://api.example")
  })
})
