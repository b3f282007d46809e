/**
 * The client against a fault-injecting HTTP server in front of the real service: retries only where SPEC §3
 * allows, honours `Retry-After`, keeps the `Idempotency-Key` on every attempt, never writes twice, and gives up
 * with the right typed error.
 */
import {
  envelopeOf,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  ObjectNotFound,
  PayloadTooLarge,
  RateLimited,
  RequestInvalid,
  Unauthorized
} from "@batchwrite/api"
import { ErrorCode, Keys } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import { RecordsClient, type RecordsClientOptions } from "../src/RecordsClient.js"
import type { RunSettled } from "../src/Write.js"
import * as FaultServer from "./support/FaultServer.js"
import { json, relay } from "./support/FaultServer.js"
import { layer as realService, RealService, testOptions } from "./support/RealService.js"

class Faults extends Context.Tag("test/Faults")<Faults, FaultServer.FaultServer>() {}

const faultLayer = Layer.scoped(Faults, FaultServer.make)

/** Runs `f` with a client pointed at the fault server. */
const withClient = <A, E>(
  f: (client: RecordsClient) => Effect.Effect<A, E>,
  overrides: Partial<RecordsClientOptions> = {}
) =>
  Effect.gen(function* () {
    const faults = yield* Faults
    return yield* Effect.flatMap(RecordsClient, f).pipe(
      Effect.provide(RecordsClient.layer({ ...testOptions(`${faults.origin}/public/v1`), ...overrides }))
    )
  })

/** Runs `f` with a client on the real service directly. */
const direct = <A, E>(f: (client: RecordsClient) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const { origin } = yield* RealService
    return yield* Effect.flatMap(RecordsClient, f).pipe(
      Effect.provide(RecordsClient.layer(testOptions(`${origin}/public/v1`)))
    )
  })

const rowsOf = (object: string, filter: Record<string, string> = {}) =>
  direct((client) => Stream.runCollect(client.allRecords(object, { filter }))).pipe(Effect.map((rows) => [...rows]))

const keysSeen = (faults: FaultServer.FaultServer) =>
  faults.requests.filter((request) => request.method === "POST").map((request) => request.headers["idempotency-key"])

const clicks = {
  fields: {
    event: { type: "string", required: true },
    occurred_at: { type: "datetime", required: true },
    note: { type: "string" }
  },
  matchKeys: []
} as const

const click = (n: number, note = "") => ({ event: `click-${n}`, occurred_at: "2026-04-21T15:00:00Z", note })

layer(Layer.merge(realService, faultLayer), { excludeTestServices: true, timeout: 40_000 })("faults", (it) => {
  it.effect("429 with Retry-After: waits at least that long, then retries with the same key", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      yield* direct((client) => client.putObject("taps", clicks))
      const records = [click(1), click(2)]
      faults.reset(async (request, response, attempt) =>
        attempt === 0 && request.method === "POST"
          ? json(response, 429, envelopeOf(new RateLimited({ message: "slow down", retryAfter: 1 })), {
              "retry-after": "1"
            })
          : relay(response, await faults.forward(origin, request))
      )
      const started = Date.now()
      const accepted = yield* withClient((client) => client.appendBatch("taps", records))
      assert.isAtLeast(Date.now() - started, 1_000)
      assert.deepStrictEqual(keysSeen(faults), [Keys.batchIdempotencyKey(records), Keys.batchIdempotencyKey(records)])
      assert.strictEqual(accepted.acceptedRecords, 2)
    })
  )

  it.effect("503 and 409 in progress are retried with the same key; the batch is written once", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      const records = [{ email: "retry@example.com", tier: "gold" }]
      faults.reset(async (request, response, attempt) => {
        if (attempt === 0) return void response.writeHead(503, { "content-type": "text/plain" }).end("overloaded")
        if (attempt === 1) {
          return json(response, 409, envelopeOf(new IdempotencyInProgress({ message: "busy", retryAfter: 0 })), {
            "retry-after": "0"
          })
        }
        relay(response, await faults.forward(origin, request))
      })
      const accepted = yield* withClient((client) => client.upsertBatch("profiles", records, { matchKey: "email" }))
      const keys = keysSeen(faults)
      assert.strictEqual(keys.length, 3)
      assert.isTrue(keys.every((key) => key === Keys.batchIdempotencyKey(records)))
      const job = yield* direct((client) => client.awaitJob(accepted))
      assert.strictEqual(job.metrics.insertedRows, 1)
      assert.strictEqual((yield* rowsOf("profiles", { email: "retry@example.com" })).length, 1)
    })
  )

  it.effect("never retries 400, 401, 403, 404, 413, 422 or 501; each is its typed error", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const cases = [
        [400, envelopeOf(new RequestInvalid({ message: "bad" })), "InvalidRequest"],
        [401, envelopeOf(new Unauthorized({ message: "who" })), "Unauthorized"],
        [403, envelopeOf(new Forbidden({ message: "no" })), "Forbidden"],
        [404, envelopeOf(new ObjectNotFound({ message: "none" })), "NotFound"],
        [413, envelopeOf(new PayloadTooLarge({ message: "big", limit: 10, size: 20 })), "PayloadTooLarge"],
        [422, envelopeOf(new IdempotencyKeyReused({ message: "reused" })), "IdempotencyKeyReused"],
        [501, { nope: true }, "ServerError"]
      ] as const
      for (const [status, body, tag] of cases) {
        faults.reset((_request, response) => json(response, status, body))
        const error = yield* withClient((client) => client.appendBatch("taps", [click(status)])).pipe(Effect.flip)
        assert.strictEqual(error._tag, tag, String(status))
        assert.strictEqual(faults.requests.length, 1, `attempts on ${status}`)
      }
    })
  )

  it.effect("gives up after the retry budget with the last typed error", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      faults.reset((_request, response) =>
        json(response, 503, { success: false, error: { code: ErrorCode.ServiceUnavailable, message: "down" } })
      )
      const error = yield* withClient((client) => client.appendBatch("taps", [click(1)])).pipe(Effect.flip)
      assert.include(error, { _tag: "ServerError", status: 503 })
      assert.strictEqual(faults.requests.length, 5) // 1 attempt + maxRetries 4
      assert.strictEqual(new Set(keysSeen(faults)).size, 1)
    })
  )

  it.effect("a response dropped mid-body is retried with the same key and the rows are written once", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      const records = [click(10, "dropped"), click(11, "dropped"), click(12, "dropped")]
      faults.reset(async (request, response, attempt) => {
        const upstream = await faults.forward(origin, request)
        if (attempt === 0) {
          response.writeHead(upstream.status, { "content-type": "application/json", "content-length": "4000" })
          response.write(upstream.body.slice(0, 20))
          setTimeout(() => response.destroy(), 20)
          return
        }
        relay(response, upstream)
      })
      const accepted = yield* withClient((client) => client.appendBatch("taps", records))
      assert.strictEqual(faults.requests.length, 2)
      assert.deepStrictEqual(keysSeen(faults), [Keys.batchIdempotencyKey(records), Keys.batchIdempotencyKey(records)])
      yield* direct((client) => client.awaitJob(accepted))
      const rows = (yield* rowsOf("taps")).filter((row) => row.note === "dropped")
      assert.strictEqual(rows.length, 3)
    })
  )

  it.effect("a connection destroyed before any answer is a TransportError, retried", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      faults.reset(async (request, response, attempt) => {
        if (attempt < 2) response.socket?.destroy()
        else relay(response, await faults.forward(origin, request))
      })
      const accepted = yield* withClient((client) => client.appendBatch("taps", [click(20)]))
      assert.strictEqual(accepted.acceptedRecords, 1)
      assert.strictEqual(faults.requests.length, 3)
      faults.reset((_request, response) => {
        response.socket?.destroy()
      })
      const error = yield* withClient((client) => client.appendBatch("taps", [click(21)])).pipe(Effect.flip)
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(faults.requests.length, 5)
    })
  )

  it.effect("a slow answer times out, is retried with the same key, and writes once", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      const records = [click(30, "slow"), click(31, "slow")]
      faults.reset(async (request, response, attempt) => {
        const upstream = await faults.forward(origin, request)
        if (attempt === 0) await new Promise((resolve) => setTimeout(resolve, 1_500))
        if (!response.destroyed) relay(response, upstream)
      })
      const accepted = yield* withClient((client) => client.appendBatch("taps", records), {
        requestTimeout: "300 millis"
      })
      assert.deepStrictEqual(keysSeen(faults), [Keys.batchIdempotencyKey(records), Keys.batchIdempotencyKey(records)])
      yield* direct((client) => client.awaitJob(accepted))
      assert.strictEqual((yield* rowsOf("taps")).filter((row) => row.note === "slow").length, 2)
    })
  )

  it.effect("write halves on 413 until batches fit, and dead-letters a record too large alone", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      const threshold = 2_000
      faults.reset(async (request, response) =>
        request.method === "POST" && Buffer.byteLength(request.body) > threshold
          ? json(
              response,
              413,
              envelopeOf(
                new PayloadTooLarge({ message: "too large", limit: threshold, size: Buffer.byteLength(request.body) })
              )
            )
          : relay(response, await faults.forward(origin, request))
      )
      const records = Array.from({ length: 60 }, (_, n) => click(100 + n, n === 7 ? "x".repeat(3_000) : "halved"))
      const settled: Array<RunSettled<unknown>> = []
      const summary = yield* withClient((client) =>
        client.write("taps", records, {
          mode: "append",
          concurrency: 2,
          maxBytes: 100_000,
          onEvent: (event) =>
            Effect.sync(() => {
              if (event._tag === "Settled") settled.push(event)
            })
        })
      )
      // One batch of the split, halved into runs that settle one by one: each names the batch it came from.
      assert.isAbove(settled.length, 2)
      assert.isTrue(settled.every((run) => run.batch.firstIndex === 0 && run.batch.count === 60))
      assert.strictEqual(
        settled.reduce((sum, run) => sum + run.count, 0),
        60
      )
      assert.strictEqual(summary.accepted, 59)
      assert.strictEqual(summary.inserted, 59)
      assert.strictEqual(summary.deadLettered, 1)
      assert.strictEqual(summary.deadLetters[0]!.inputIndex, 7)
      assert.strictEqual(summary.deadLetters[0]!.code, ErrorCode.PayloadTooLarge)
      assert.isAbove(summary.batches, 2)
      for (const request of faults.requests.filter((seen) => seen.method === "POST")) {
        const body = JSON.parse(request.body) as { records: ReadonlyArray<unknown> }
        assert.strictEqual(request.headers["idempotency-key"], Keys.batchIdempotencyKey(body.records))
      }
      assert.strictEqual((yield* rowsOf("taps")).filter((row) => row.note === "halved").length, 59)
    })
  )

  it.effect("awaitJob gives up with JobTimeout carrying the job id", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      faults.reset(async (request, response) => {
        const upstream = await faults.forward(origin, request)
        if (request.method !== "GET") return relay(response, upstream)
        const body = JSON.parse(upstream.body) as { data: Record<string, unknown> }
        json(response, 200, { ...body, data: { ...body.data, state: "processing" } })
      })
      const error = yield* withClient(
        (client) => Effect.flatMap(client.appendBatch("taps", [click(40)]), (accepted) => client.awaitJob(accepted)),
        { pollTimeout: "300 millis" }
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "JobTimeout")
      if (error._tag === "JobTimeout") {
        assert.match(error.jobId, /^rjob_/)
        assert.strictEqual(error.objectName, "taps")
        // the job is durable: polling resumes on the real service
        const job = yield* direct((client) => client.awaitJob(error))
        assert.strictEqual(job.state, "completed")
      }
    })
  )

  it.effect("a failed job is JobFailed for awaitJob, and write dead-letters its records with the job id", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      faults.reset(async (request, response) => {
        const upstream = await faults.forward(origin, request)
        if (request.method !== "GET") return relay(response, upstream)
        const body = JSON.parse(upstream.body) as { data: Record<string, unknown> }
        json(response, 200, {
          ...body,
          data: { ...body.data, state: "failed", failure: { code: "CDP_ETL.SERVER.INTERNAL_ERROR", message: "disk" } }
        })
      })
      const error = yield* withClient((client) =>
        Effect.flatMap(client.appendBatch("taps", [click(50)]), (accepted) => client.awaitJob(accepted))
      ).pipe(Effect.flip)
      assert.include(error, { _tag: "JobFailed", code: "CDP_ETL.SERVER.INTERNAL_ERROR", message: "disk" })
      const summary = yield* withClient((client) => client.write("taps", [click(51), click(52)], { mode: "append" }))
      assert.strictEqual(summary.deadLettered, 2)
      assert.deepStrictEqual(
        summary.deadLetters.map((entry) => [entry.inputIndex, entry.code, entry.jobId === summary.jobIds[0]]),
        [
          [0, "CDP_ETL.SERVER.INTERNAL_ERROR", true],
          [1, "CDP_ETL.SERVER.INTERNAL_ERROR", true]
        ]
      )
    })
  )
})
