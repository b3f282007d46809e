/**
 * SPEC §1.7 over real HTTP: `Idempotency-Key` replays the stored response byte for byte with no new job, refuses
 * another body (422), never lets concurrent retries create two jobs, checks the key's syntax, and is scoped by
 * workspace, method and path. (A 429 is never stored: see RateLimits.test.ts.)
 */
import { ResponseHeaders } from "@batchwrite/api"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  const itemsPath = "/public/v1/records/idem_items/append-batch"

  const bodyOf = (...ns: Array<number>) => JSON.stringify({ records: ns.map((n) => ({ n })) })

  let keyCounter = 0
  /** A key no other test uses. */
  const freshKey = (label: string) => `${label}-${Date.now()}-${++keyCounter}`

  /** Creates `idem_items` (once per server). */
  const setUp = Effect.gen(function* () {
    const { api } = yield* TestService.TestService
    yield* api.alpha.objects.putObject({
      path: { name: "idem_items" },
      payload: { fields: { n: { type: "integer", required: true }, label: { type: "string" } }, matchKeys: [] }
    })
  })

  /** The sequence the next accepted batch of the workspace gets (and that batch's job id). */
  const nextSequence = (token: TestService.TokenName = "alpha") =>
    Effect.gen(function* () {
      const { api } = yield* TestService.TestService
      const accepted = yield* api[token].records.appendBatch({
        path: { object: "events" },
        headers: {},
        payload: { records: [{ event: "probe", occurred_at: "2026-04-21T15:00:00Z" }] }
      })
      return yield* TestService.sequenceOf(api[token], "events", accepted.data.jobId)
    })

  const post = (body: string, key: string | undefined, options: { path?: string; token?: string } = {}) =>
    TestService.rawPost(options.path ?? itemsPath, body, {
      token: options.token ?? TestService.tokens.alpha,
      headers: key === undefined ? {} : { "idempotency-key": key }
    })

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("idempotency keys (SPEC §1.7)", (it) => {
    it.effect("a replay answers the stored response byte for byte with Idempotent-Replayed: true and no new job", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* setUp
        const key = freshKey("replay")
        const body = bodyOf(1, 2, 3)
        const first = yield* post(body, key)
        assert.strictEqual(first.status, 202, first.text)
        assert.isUndefined(first.headers[ResponseHeaders.idempotentReplayed])
        const { jobId } = TestService.dataOf<{ jobId: string }>(first)
        const job = yield* TestService.awaitJob(api.alpha, "idem_items", jobId)

        for (let attempt = 0; attempt < 2; attempt++) {
          const replay = yield* post(body, key)
          assert.strictEqual(replay.status, 202)
          assert.strictEqual(replay.text, first.text)
          assert.strictEqual(replay.headers[ResponseHeaders.idempotentReplayed], "true")
          assert.strictEqual(replay.headers[ResponseHeaders.location], first.headers[ResponseHeaders.location])
          assert.strictEqual(replay.headers["content-type"], first.headers["content-type"])
        }
        // The typed client reads the replay as the same acceptance.
        const [typed, response] = yield* api.alpha.records.appendBatch({
          path: { object: "idem_items" },
          headers: { "idempotency-key": key },
          payload: { records: [{ n: 1 }, { n: 2 }, { n: 3 }] },
          withResponse: true
        })
        assert.strictEqual(response.headers[ResponseHeaders.idempotentReplayed], "true")
        assert.strictEqual(typed.data.jobId, jobId)

        // No job was queued by the replays, and the records were stored once.
        assert.strictEqual(yield* nextSequence(), job.sequence + 1)
        const rows = yield* TestService.allRecords(api.alpha, "idem_items")
        assert.deepStrictEqual(
          rows.map(TestService.fieldsOf).filter((row) => [1, 2, 3].includes(row.n as number)),
          [{ n: 1 }, { n: 2 }, { n: 3 }]
        )
      })
    )

    it.effect(
      "the same records in other bytes (key order, spacing) are a replay of the first answer, byte for byte",
      () =>
        Effect.gen(function* () {
          yield* setUp
          const key = freshKey("canonical")
          const first = yield* post(
            JSON.stringify({
              records: [
                { n: 21, label: "a" },
                { label: "b", n: 22 }
              ]
            }),
            key
          )
          assert.strictEqual(first.status, 202, first.text)
          const before = yield* nextSequence()
          const rebuilt = '{ "records" : [ {"label":"a","n":21},\n  {"n": 22, "label": "b"} ] }'
          const replay = yield* post(rebuilt, key)
          assert.strictEqual(replay.status, 202)
          assert.strictEqual(replay.text, first.text)
          assert.strictEqual(replay.headers[ResponseHeaders.idempotentReplayed], "true")
          assert.strictEqual(yield* nextSequence(), before + 1, "the replay queued a job")
          // Another order of the records is another batch (upserts apply in array order).
          const reordered = yield* post(
            JSON.stringify({
              records: [
                { n: 22, label: "b" },
                { n: 21, label: "a" }
              ]
            }),
            key
          )
          TestService.expectError(reordered, 422, "IdempotencyKeyReused")
        })
    )

    it.effect("the same key with a different body is 422 KEY_REUSED; the first body still replays", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* setUp
        const key = freshKey("reused")
        const first = yield* post(bodyOf(10), key)
        assert.strictEqual(first.status, 202)
        const before = yield* nextSequence()
        const error = yield* Effect.flip(
          api.alpha.records.appendBatch({
            path: { object: "idem_items" },
            headers: { "idempotency-key": key },
            payload: { records: [{ n: 11 }] }
          })
        )
        assert.strictEqual(error._tag, "IdempotencyKeyReused")
        assert.strictEqual(yield* nextSequence(), before + 1, "the 422 queued a job")
        const replay = yield* post(bodyOf(10), key)
        assert.strictEqual(replay.text, first.text)
        assert.strictEqual(replay.headers[ResponseHeaders.idempotentReplayed], "true")
      })
    )

    it.effect("concurrent requests with one key create one job: the others replay it or are 409 with Retry-After", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* setUp
        const key = freshKey("concurrent")
        const body = JSON.stringify({ records: Array.from({ length: 2_000 }, (_, n) => ({ n })) })
        const responses = yield* Effect.forEach(Array.from({ length: 6 }), () => post(body, key), {
          concurrency: "unbounded"
        })
        const fresh = responses.filter(
          (response) => response.status === 202 && response.headers[ResponseHeaders.idempotentReplayed] === undefined
        )
        assert.strictEqual(fresh.length, 1, responses.map((response) => response.status).join(","))
        for (const response of responses) {
          if (response.status === 202) {
            assert.strictEqual(response.text, fresh[0]!.text)
          } else {
            const error = TestService.expectError(response, 409, "IdempotencyInProgress")
            assert.isAtLeast(error.retryAfter, 1)
            assert.strictEqual(response.headers[ResponseHeaders.retryAfter], String(error.retryAfter))
          }
        }
        const { jobId } = TestService.dataOf<{ jobId: string }>(fresh[0]!)
        const job = yield* TestService.awaitJob(api.alpha, "idem_items", jobId)
        assert.strictEqual(job.metrics.insertedRows, 2_000)
        assert.strictEqual(yield* nextSequence(), job.sequence + 1, "more than one job was queued")
        // Once the first is answered, a retry replays it.
        const retry = yield* post(body, key)
        assert.strictEqual(retry.text, fresh[0]!.text)
        assert.strictEqual(retry.headers[ResponseHeaders.idempotentReplayed], "true")
      })
    )

    it.effect("a key is 1 to 255 visible ASCII characters: 256 characters, a space or nothing is 400", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* setUp
        const tooLong = yield* Effect.flip(
          api.alpha.records.appendBatch({
            path: { object: "idem_items" },
            headers: { "idempotency-key": "k".repeat(256) },
            payload: { records: [{ n: 1 }] }
          })
        )
        assert.strictEqual(tooLong._tag, "RequestInvalid")
        if (tooLong._tag === "RequestInvalid") assert.match(tooLong.message, /Idempotency-Key/)
        for (const key of ["two words", ""]) {
          const response = yield* post(bodyOf(1), key)
          TestService.expectError(response, 400, "RequestInvalid")
        }
        const longest = `${"k".repeat(250)}${String(++keyCounter).padStart(5, "0")}`
        assert.strictEqual(longest.length, 255)
        const accepted = yield* post(bodyOf(1), longest)
        assert.strictEqual(accepted.status, 202, accepted.text)
        const visible = yield* post(bodyOf(1), `!#$%&'*+-.^_|~:/?@[]{}=<>,;()${keyCounter}`)
        assert.strictEqual(visible.status, 202, visible.text)
      })
    )

    it.effect("an RFC 8941 quoted string is accepted, and names the same key as its bare form", () =>
      Effect.gen(function* () {
        yield* setUp
        const key = freshKey("quoted")
        const quoted = yield* post(bodyOf(7), `"${key}"`)
        assert.strictEqual(quoted.status, 202, quoted.text)
        const bare = yield* post(bodyOf(7), key)
        assert.strictEqual(bare.text, quoted.text)
        assert.strictEqual(bare.headers[ResponseHeaders.idempotentReplayed], "true")
        // A quoted string may hold spaces and escaped quotes.
        const spaced = yield* post(bodyOf(8), `"order \\"42\\" of ${key}"`)
        assert.strictEqual(spaced.status, 202, spaced.text)
        const again = yield* post(bodyOf(8), `"order \\"42\\" of ${key}"`)
        assert.strictEqual(again.text, spaced.text)
        assert.strictEqual(again.headers[ResponseHeaders.idempotentReplayed], "true")
      })
    )

    it.effect("a key is scoped by path: append, upsert and another object's append are independent", () =>
      Effect.gen(function* () {
        const key = freshKey("path")
        const append = yield* post(JSON.stringify({ records: [{ key: "p1", a: 1 }] }), key, {
          path: "/public/v1/records/counters/append-batch"
        })
        const upsert = yield* post(JSON.stringify({ records: [{ key: "p2", a: 2 }], matchKey: "key" }), key, {
          path: "/public/v1/records/counters/upsert-batch"
        })
        const events = yield* post(
          JSON.stringify({ records: [{ event: "e", occurred_at: "2026-04-21T15:00:00Z" }] }),
          key,
          {
            path: "/public/v1/records/events/append-batch"
          }
        )
        const ids = new Set<string>()
        for (const response of [append, upsert, events]) {
          assert.strictEqual(response.status, 202, response.text)
          assert.isUndefined(response.headers[ResponseHeaders.idempotentReplayed])
          ids.add(TestService.dataOf<{ jobId: string }>(response).jobId)
        }
        assert.strictEqual(ids.size, 3)
      })
    )

    it.effect("a key is scoped by workspace: the same key, path and body in two workspaces make two jobs", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const key = freshKey("workspace")
        const body = JSON.stringify({ records: [{ account_id: "w1", name: "Same" }], matchKey: "account_id" })
        const path = "/public/v1/records/accounts/upsert-batch"
        const alpha = yield* post(body, key, { path })
        const beta = yield* post(body, key, { path, token: TestService.tokens.beta })
        for (const response of [alpha, beta]) {
          assert.strictEqual(response.status, 202, response.text)
          assert.isUndefined(response.headers[ResponseHeaders.idempotentReplayed])
        }
        const alphaJob = TestService.dataOf<{ jobId: string }>(alpha).jobId
        const betaJob = TestService.dataOf<{ jobId: string }>(beta).jobId
        assert.notStrictEqual(alphaJob, betaJob)
        // A different body under the key in beta is judged against beta's request only.
        const betaReused = yield* post(
          JSON.stringify({ records: [{ account_id: "w2" }], matchKey: "account_id" }),
          key,
          {
            path,
            token: TestService.tokens.beta
          }
        )
        TestService.expectError(betaReused, 422, "IdempotencyKeyReused")
        yield* TestService.awaitJob(api.beta, "accounts", betaJob)
        const betaRows = yield* TestService.allRecords(api.beta, "accounts", { account_id: "w1" })
        assert.strictEqual(betaRows.length, 1)
      })
    )

    it.effect("a 4xx answer is stored too: replaying a rejected body replays the same 400", () =>
      Effect.gen(function* () {
        yield* setUp
        const key = freshKey("rejected")
        const body = JSON.stringify({ records: [{ n: 1, colour: "red" }] })
        const first = yield* post(body, key)
        TestService.expectError(first, 400, "SchemaMismatch")
        const replay = yield* post(body, key)
        assert.strictEqual(replay.status, 400)
        assert.strictEqual(replay.text, first.text)
        assert.strictEqual(replay.headers[ResponseHeaders.idempotentReplayed], "true")
      })
    )
  })
})
