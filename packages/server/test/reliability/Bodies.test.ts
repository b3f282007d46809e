/**
 * Issue 15, case 9, over real HTTP: bodies are strict UTF-8 (bytes that are not are a 400, a declared other charset a
 * 415, never stored altered); a number a 64-bit float cannot hold exactly is that row's error, in a `json` field
 * too, instead of being stored as another number; and `records_accepted_total` counts what was committed, also
 * when the client went away before reading the answer.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { exchange, requestText } from "../support/RawSocket.js"
import * as TestService from "../support/TestService.js"

const token = TestService.tokens.alpha

const rows = (objectName: string) =>
  Effect.flatMap(TestService.TestService, ({ api }) => TestService.allRecords(api.alpha, objectName))

const acceptedTotal = Effect.gen(function* () {
  const metrics = yield* TestService.rawGet("/metrics")
  return Number(/^batchwrite_records_accepted_total (\d+)$/m.exec(metrics.text)![1])
})

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("bodies (issue 15, case 9)", (it) => {
    it.effect("bytes that are not UTF-8 are a 400 saying so, and nothing is stored", () =>
      Effect.gen(function* () {
        const body = Buffer.concat([
          Buffer.from('{"records":[{"account_id":"utf8-a'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('b"}]}')
        ])
        const batch = yield* TestService.rawPost("/public/v1/records/accounts/append-batch", body, { token })
        const error = TestService.expectError(batch, 400, "RequestInvalid")
        assert.include(error.message, "UTF-8")
        const single = yield* TestService.rawPost("/public/v1/records/accounts", body.subarray(12, -2), { token })
        TestService.expectError(single, 400, "RequestInvalid")
        assert.deepStrictEqual(yield* rows("accounts"), [])
      })
    )

    it.effect("a body arriving in many pieces, a character split between two, is stored exactly", () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        // ASCII pieces, then pieces that are not, one of them cut inside a character of four bytes.
        const names = ["plain-ascii", "x".repeat(60_000), "y".repeat(60_000), "café ü 日本", "emoji 😀 end", "trailing"]
        const records = names.map((name, i) => ({ account_id: `pieces-${i}`, name }))
        const body = Buffer.from(JSON.stringify({ records }))
        const cut = body.indexOf(Buffer.from("😀")) + 2
        const head = requestText("POST", "/public/v1/records/accounts/append-batch", {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": String(body.length)
        })
        const pieces = [body.subarray(0, 70_000), body.subarray(70_000, cut), body.subarray(cut)]
        const response = yield* exchange(origin, head, { trickle: pieces, trickleIntervalMs: 50 })
        assert.strictEqual(response.status, 202, response.body)
        const { api } = yield* TestService.TestService
        const job = yield* TestService.awaitJob(api.alpha, "accounts", JSON.parse(response.body).data.jobId)
        assert.strictEqual(job.metrics.insertedRows, names.length)
        const stored = (yield* rows("accounts")).filter((row) => String(row.account_id).startsWith("pieces-"))
        assert.deepStrictEqual(
          stored.map((row) => row.name),
          names
        )
      })
    )

    it.effect("a declared charset other than UTF-8 is a 415; charset=utf-8 is read", () =>
      Effect.gen(function* () {
        const body = JSON.stringify({ records: [{ account_id: "latin" }] })
        for (const contentType of ["application/json; charset=iso-8859-1", 'application/json; charset="utf-16"']) {
          const response = yield* TestService.rawPost("/public/v1/records/accounts/append-batch", body, {
            token,
            contentType
          })
          const error = TestService.expectError(response, 415, "UnsupportedMediaType")
          assert.include(error.message, "UTF-8")
        }
        const accepted = yield* TestService.rawPost("/public/v1/records/accounts/append-batch", body, {
          token,
          contentType: 'application/json; Charset="UTF-8"'
        })
        assert.strictEqual(accepted.status, 202, accepted.text)
        const { api } = yield* TestService.TestService
        const job = yield* TestService.awaitJob(
          api.alpha,
          "accounts",
          TestService.dataOf<{ jobId: string }>(accepted).jobId
        )
        assert.strictEqual(job.metrics.insertedRows, 1)
      })
    )

    it.effect("a number a 64-bit float cannot hold is that row's error (json fields too); exact numbers are kept", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const hundredDigits = "1".repeat(100)
        const body = `{"records":[
          {"account_id":"big-json","meta":{"n":${hundredDigits}}},
          {"account_id":"long-fraction","meta":[0.1000000000000000000001]},
          {"account_id":"big-seats","seats":12345678901234567890},
          {"account_id":"exact","meta":{"n":0.1,"m":1e2,"k":-12.5,"id":"${hundredDigits}"},"seats":9007199254740991}
        ]}`
        const accepted = yield* TestService.rawPost("/public/v1/records/accounts/append-batch", body, { token })
        assert.strictEqual(accepted.status, 202, accepted.text)
        const job = yield* TestService.awaitJob(
          api.alpha,
          "accounts",
          TestService.dataOf<{ jobId: string }>(accepted).jobId
        )
        assert.strictEqual(job.state, "completed")
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.field]),
          [
            [0, "meta"],
            [1, "meta"],
            [2, "seats"]
          ]
        )
        for (const error of job.errors) assert.include(error.message, "cannot be stored exactly")
        const stored = (yield* rows("accounts")).map(TestService.fieldsOf)
        const exact = stored.find((row) => row.account_id === "exact")
        assert.deepStrictEqual(exact?.meta, { n: 0.1, m: 100, k: -12.5, id: hundredDigits })
        assert.strictEqual(exact?.seats, 9007199254740991)
        assert.isUndefined(stored.find((row) => row.account_id === "big-json"))
      })
    )

    it.effect("a single write with such a number is a 400 naming the field", () =>
      Effect.gen(function* () {
        const response = yield* TestService.rawPost(
          "/public/v1/records/accounts",
          `{"account_id":"single-big","meta":{"n":${"9".repeat(40)}}}`,
          { token }
        )
        const error = TestService.expectError(response, 400, "RequestInvalid")
        assert.include(error.message, "cannot be stored exactly")
      })
    )
  })
})

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })(
    "records_accepted_total (issue 15, case 9)",
    (it) => {
      it.effect("records_accepted_total counts every committed record, also of clients that went away early", () =>
        Effect.gen(function* () {
          const { api, origin } = yield* TestService.TestService
          const before = yield* acceptedTotal
          const sends = Array.from({ length: 40 }, (_, i) =>
            Effect.promise(async () => {
              const controller = new AbortController()
              // Aborted at a different point of each request: before, during and after its commit; every fourth
              // request is read to its end, so some records are surely committed.
              if (i % 4 !== 0) setTimeout(() => controller.abort(), i * 3)
              const records = Array.from({ length: 50 }, (_, j) => ({ key: `gone-${i}-${j}` }))
              await fetch(`${origin}/public/v1/records/counters/append-batch`, {
                method: "POST",
                headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
                body: JSON.stringify({ records }),
                signal: controller.signal
              }).then(
                (response) => response.text(),
                () => undefined
              )
            })
          )
          yield* Effect.all(sends, { concurrency: "unbounded" })
          // Aborted requests may still be committing on the server: wait until the queue is empty and the counts meet
          // (a count that stays off fails the test after 20 s).
          let counts = { accepted: -1, stored: -2 }
          for (let attempt = 0; attempt < 40 && counts.accepted !== counts.stored; attempt++) {
            yield* Effect.sleep("500 millis")
            const metrics = (yield* TestService.rawGet("/metrics")).text
            if (!/batchwrite_queue_depth\{state="queued"\} 0/.test(metrics)) continue
            if (!/batchwrite_queue_depth\{state="processing"\} 0/.test(metrics)) continue
            counts = {
              accepted: (yield* acceptedTotal) - before,
              stored: (yield* TestService.allRecords(api.alpha, "counters")).length
            }
          }
          assert.isAbove(counts.stored, 0)
          assert.strictEqual(counts.accepted, counts.stored, JSON.stringify(counts))
        })
      )
    }
  )
})
