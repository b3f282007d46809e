/**
 * SPEC §1.5 over real HTTP: every check made before a batch is queued rejects the whole request with its status,
 * code and details, queues nothing, and leaves the service answering; valid batches (10,000 records, gzip) are
 * accepted and stored.
 */
import { connect } from "node:net"
import { gzipSync } from "node:zlib"
import { preferWait } from "@batchwrite/api"
import { Limits } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { HttpClientRequest } from "@effect/platform"
import { Effect, Stream } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  const event = (i: number) => ({ event: `e${i}`, occurred_at: "2026-04-21T15:00:00Z", user_id: `u${i}` })

  const appendPath = "/public/v1/records/events/append-batch"

  /** The sequence of a fresh one-record batch of `events`: consecutive values mean nothing was queued in between. */
  const nextSequence = Effect.gen(function* () {
    const { api } = yield* TestService.TestService
    const accepted = yield* api.alpha.records.appendBatch({
      path: { object: "events" },
      headers: {},
      payload: { records: [event(0)] }
    })
    return yield* TestService.sequenceOf(api.alpha, "events", accepted.data.jobId)
  })

  /** Runs a rejected request between two accepted ones and checks that it queued no job. */
  const queuesNothing = <A, E, R>(rejected: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const before = yield* nextSequence
      const result = yield* rejected
      const after = yield* nextSequence
      assert.strictEqual(after, before + 1, "the rejected request queued a job")
      return result
    })

  /** A gzip file of 1 GiB of zeros (64 members of 16 MiB each, about 1 MB compressed). */
  const gzipBomb = (): Uint8Array => {
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 })
    return new Uint8Array(Buffer.concat(Array.from({ length: 64 }, () => member)))
  }

  /** Records whose JSON body is a little over 11 MB. */
  const elevenMegabytes = Array.from({ length: 1_100 }, (_, i) => ({ ...event(i), url: "x".repeat(10_000) }))

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("accepting a batch (SPEC §1.5)", (it) => {
    it.effect("a body over 10 MB is 413 PAYLOAD_TOO_LARGE with the limit and the size seen, and queues nothing", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const size = Buffer.byteLength(JSON.stringify({ records: elevenMegabytes }))
        assert.isAbove(size, 11_000_000)
        const error = yield* queuesNothing(
          Effect.flip(
            api.alpha.records.appendBatch({
              path: { object: "events" },
              headers: {},
              payload: { records: elevenMegabytes }
            })
          )
        )
        assert.strictEqual(error._tag, "PayloadTooLarge")
        if (error._tag !== "PayloadTooLarge") return
        assert.strictEqual(error.limit, Limits.maxBodyBytes)
        assert.strictEqual(error.size, size)
      })
    )

    it.effect(
      "a client still sending a body declared over 10 MB reads the 413: the rest is drained, no broken pipe",
      () =>
        Effect.gen(function* () {
          const { origin } = yield* TestService.TestService
          const port = Number(new URL(origin).port)
          const declared = 20_000_000
          const answer = yield* Effect.promise(
            () =>
              new Promise<{ readonly response: string; readonly writeError: string | undefined }>((resolve) => {
                let response = ""
                let writeError: string | undefined
                const socket = connect(port, "127.0.0.1", async () => {
                  socket.write(
                    `POST ${appendPath} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TestService.tokens.alpha}\r\n` +
                      `Content-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`
                  )
                  const chunk = Buffer.alloc(65_536, 0x20)
                  for (let sent = 0; sent < declared && writeError === undefined; sent += chunk.length) {
                    const piece = chunk.subarray(0, Math.min(chunk.length, declared - sent))
                    if (!socket.write(piece)) await new Promise((drained) => socket.once("drain", drained))
                  }
                })
                socket.on("data", (data) => {
                  response += data.toString("utf8")
                })
                socket.on("error", (error) => {
                  writeError = error.message
                })
                socket.on("close", () => resolve({ response, writeError }))
              })
          )
          assert.isUndefined(answer.writeError, "the client could send its whole body")
          assert.match(answer.response, /^HTTP\/1\.1 413 /)
          assert.include(answer.response, "PAYLOAD_TOO_LARGE")
        })
    )

    it.effect("a body sent chunked (no Content-Length) that grows past 10 MB is 413 with the limit and size", () =>
      Effect.gen(function* () {
        const bytes = new TextEncoder().encode(JSON.stringify({ records: elevenMegabytes }))
        const chunks = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) =>
          bytes.subarray(i * 65_536, (i + 1) * 65_536)
        )
        const response = yield* queuesNothing(
          TestService.send(
            HttpClientRequest.post(appendPath).pipe(
              HttpClientRequest.bearerToken(TestService.tokens.alpha),
              HttpClientRequest.bodyStream(Stream.fromIterable(chunks), { contentType: "application/json" })
            )
          )
        )
        const error = TestService.expectError(response, 413, "PayloadTooLarge")
        assert.strictEqual(error.limit, Limits.maxBodyBytes)
        assert.isAbove(error.size, Limits.maxBodyBytes)
      })
    )

    it.effect("a gzip bomb (1 GiB of zeros) is 413 and the service keeps answering", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const bomb = gzipBomb()
        assert.isBelow(bomb.length, 2_000_000)
        const response = yield* queuesNothing(
          TestService.rawPost(appendPath, bomb, {
            token: TestService.tokens.alpha,
            headers: { "content-encoding": "gzip" }
          })
        )
        assert.strictEqual(response.status, 413, response.text)
        assert.strictEqual(
          (JSON.parse(response.text) as { error: { code: string } }).error.code,
          "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE"
        )
        // The service goes on serving: liveness, and a batch accepted and completed.
        const health = yield* api.alpha.ops.healthz()
        assert.strictEqual(health.data.status, "ok")
        const after = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: { prefer: preferWait(10) },
          payload: { records: [event(1)] }
        })
        assert.strictEqual(after.data.state, "completed")
        // details: the limit and the size seen (after decompression), as the contract types them.
        const error = TestService.expectError(response, 413, "PayloadTooLarge")
        assert.strictEqual(error.limit, Limits.maxBodyBytes)
        assert.isAbove(error.size, Limits.maxBodyBytes)
      })
    )

    it.effect("a body that is not JSON is 400 REQUEST_INVALID", () =>
      Effect.gen(function* () {
        for (const body of ['{"records": [', "records=1", ""]) {
          const response = yield* queuesNothing(
            TestService.rawPost(appendPath, body, { token: TestService.tokens.alpha })
          )
          const error = TestService.expectError(response, 400, "RequestInvalid")
          assert.match(error.message, /JSON/)
        }
      })
    )

    it.effect("a body without a records array is 400 REQUEST_INVALID", () =>
      Effect.gen(function* () {
        for (const body of ['{"items": []}', '{"records": {"event": "x"}}', "[]", '"records"', "null"]) {
          const response = yield* queuesNothing(
            TestService.rawPost(appendPath, body, { token: TestService.tokens.alpha })
          )
          const error = TestService.expectError(response, 400, "RequestInvalid")
          assert.match(error.message, /records/)
        }
      })
    )

    it.effect("a record that is not an object is a row error of its own; the other records are stored", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        for (const bad of [42, "event", null, [event(1)]]) {
          const accepted = yield* api.alpha.records.appendBatch({
            path: { object: "events" },
            headers: {},
            payload: { records: [event(0), bad, event(2)] }
          })
          assert.strictEqual(accepted.data.acceptedRecords, 3)
          const job = yield* TestService.awaitJob(api.alpha, "events", accepted.data.jobId)
          assert.strictEqual(job.state, "completed")
          assert.strictEqual(job.metrics.insertedRows, 2)
          assert.strictEqual(job.metrics.invalidRows, 1)
          const [error] = job.errors
          assert.strictEqual(error?.index, 1)
          assert.strictEqual(error?.pointer, "/records/1")
          assert.strictEqual(error?.code, "CDP_ETL.VALIDATION.REQUEST_INVALID")
          assert.match(error?.message ?? "", /JSON object/)
        }
      })
    )

    it.effect("0 records is 400 REQUEST_INVALID", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const error = yield* queuesNothing(
          Effect.flip(
            api.alpha.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: [] } })
          )
        )
        assert.strictEqual(error._tag, "RequestInvalid")
      })
    )

    it.effect("10,001 records is 400 REQUEST_INVALID: too many records, with the limit", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const records = Array.from({ length: Limits.maxRecordsPerBatch + 1 }, (_, i) => event(i))
        const error = yield* queuesNothing(
          Effect.flip(api.alpha.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records } }))
        )
        assert.strictEqual(error._tag, "RequestInvalid")
        if (error._tag !== "RequestInvalid") return
        assert.match(error.message, /too many records/)
        assert.deepStrictEqual(error.tooManyRecords, { limit: 10_000, count: 10_001 })
      })
    )

    it.effect("a field not on the schema is 400 REQUEST_SCHEMA with each unknown field and its first index", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const records = [event(0), { ...event(1), colour: "red" }, { ...event(2), size: 3, colour: "blue" }, event(3)]
        const error = yield* queuesNothing(
          Effect.flip(api.alpha.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records } }))
        )
        assert.strictEqual(error._tag, "SchemaMismatch")
        if (error._tag !== "SchemaMismatch") return
        assert.deepStrictEqual(error.unknownFields, [
          { field: "colour", firstIndex: 1 },
          { field: "size", firstIndex: 2 }
        ])
        assert.match(error.message, /colour/)
      })
    )

    it.effect("an upsert whose matchKey is missing or not a match key is 400 REQUEST_INVALID", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const records = [{ email: "ada@example.com", first_name: "Ada" }]
        const missing = yield* queuesNothing(
          TestService.rawPost("/public/v1/records/profiles/upsert-batch", JSON.stringify({ records }), {
            token: TestService.tokens.alpha
          })
        )
        assert.match(TestService.expectError(missing, 400, "RequestInvalid").message, /matchKey/)
        for (const matchKey of ["first_name", "nope", ""]) {
          const error = yield* queuesNothing(
            Effect.flip(
              api.alpha.records.upsertBatch({
                path: { object: "profiles" },
                headers: {},
                payload: { records, matchKey }
              })
            )
          )
          assert.strictEqual(error._tag, "RequestInvalid", matchKey)
        }
      })
    )

    it.effect("an unknown object is 404 NOT_FOUND.OBJECT, for append and upsert", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const append = yield* queuesNothing(
          Effect.flip(
            api.alpha.records.appendBatch({ path: { object: "nothing_here" }, headers: {}, payload: { records: [{}] } })
          )
        )
        assert.strictEqual(append._tag, "ObjectNotFound")
        const upsert = yield* queuesNothing(
          Effect.flip(
            api.alpha.records.upsertBatch({
              path: { object: "nothing_here" },
              headers: {},
              payload: { records: [{ id: 1 }], matchKey: "id" }
            })
          )
        )
        assert.strictEqual(upsert._tag, "ObjectNotFound")
      })
    )

    it.effect("a Content-Type that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE", () =>
      Effect.gen(function* () {
        const body = JSON.stringify({ records: [event(0)] })
        for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
          const response = yield* queuesNothing(
            TestService.rawPost(appendPath, body, { token: TestService.tokens.alpha, contentType })
          )
          TestService.expectError(response, 415, "UnsupportedMediaType")
        }
      })
    )

    it.effect("a batch of 10,000 records is accepted, completed, and stored as 10,000 rows in order", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.objects.putObject({
          path: { name: "bulk_items" },
          payload: { fields: { n: { type: "integer", required: true }, label: { type: "string" } }, matchKeys: [] }
        })
        const records = Array.from({ length: 10_000 }, (_, n) => ({ n, label: `item ${n}` }))
        const [accepted, response] = yield* api.alpha.records.appendBatch({
          path: { object: "bulk_items" },
          headers: {},
          payload: { records },
          withResponse: true
        })
        assert.strictEqual(response.status, 202)
        assert.strictEqual(accepted.data.acceptedRecords, 10_000)
        const job = yield* TestService.awaitJob(api.alpha, "bulk_items", accepted.data.jobId)
        assert.strictEqual(job.state, "completed")
        assert.deepStrictEqual(job.metrics, {
          totalRows: 10_000,
          processedRows: 10_000,
          insertedRows: 10_000,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 0
        })
        const rows = yield* TestService.allRecords(api.alpha, "bulk_items")
        assert.strictEqual(rows.length, 10_000)
        assert.deepStrictEqual(rows.map(TestService.fieldsOf), records)
      })
    )

    it.effect("a gzip-encoded batch is accepted and its records stored", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.objects.putObject({
          path: { name: "gzipped" },
          payload: { fields: { n: { type: "integer", required: true }, text: { type: "string" } }, matchKeys: [] }
        })
        const records = Array.from({ length: 500 }, (_, n) => ({ n, text: "é ü 漢字 🎉".repeat(n % 7) }))
        const body = new Uint8Array(gzipSync(Buffer.from(JSON.stringify({ records }), "utf8")))
        const response = yield* TestService.rawPost("/public/v1/records/gzipped/append-batch", body, {
          token: TestService.tokens.alpha,
          contentType: "application/json; charset=utf-8",
          headers: { "content-encoding": "gzip" }
        })
        assert.strictEqual(response.status, 202, response.text)
        const accepted = TestService.dataOf<{ jobId: string; acceptedRecords: number }>(response)
        assert.strictEqual(accepted.acceptedRecords, 500)
        const job = yield* TestService.awaitJob(api.alpha, "gzipped", accepted.jobId)
        assert.strictEqual(job.metrics.insertedRows, 500)
        const rows = yield* TestService.allRecords(api.alpha, "gzipped")
        assert.deepStrictEqual(rows.map(TestService.fieldsOf), records)
      })
    )
  })
})
