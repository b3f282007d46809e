/**
 * SPEC §1.8 over real HTTP: `RateLimit` and `RateLimit-Policy` on every `/public/v1` response, a token bucket per
 * token counting requests (not records), and `429 RATE_LIMITED` with `Retry-After`; a 429 is never stored under an
 * idempotency key (SPEC §1.7).
 */
import { ResponseHeaders } from "@batchwrite/api"
import { assert, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { sliceOf } from "../../src/services/RateLimit.js"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  const event = { event: "signup", occurred_at: "2026-04-21T15:00:00Z" }

  interface RateHeaders {
    readonly policy: { readonly name: string; readonly quota: number; readonly window: number }
    readonly remaining: number
    readonly reset: number
  }

  /** The IETF httpapi-ratelimit-headers of a response (`"name";q=…;w=…` and `"name";r=…;t=…`). */
  const rateHeadersOf = (headers: Readonly<Record<string, string | undefined>>): RateHeaders => {
    const policy = /^"([^"]+)";q=(\d+);w=(\d+)$/.exec(headers[ResponseHeaders.rateLimitPolicy] ?? "")
    const limit = /^"([^"]+)";r=(\d+);t=(\d+)$/.exec(headers[ResponseHeaders.rateLimit] ?? "")
    assert.isNotNull(policy, `RateLimit-Policy: ${headers[ResponseHeaders.rateLimitPolicy]}`)
    assert.isNotNull(limit, `RateLimit: ${headers[ResponseHeaders.rateLimit]}`)
    assert.strictEqual(limit![1], policy![1], "RateLimit names its policy")
    return {
      policy: { name: policy![1]!, quota: Number(policy![2]), window: Number(policy![3]) },
      remaining: Number(limit![2]),
      reset: Number(limit![3])
    }
  }

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("rate-limit headers (SPEC §1.8)", (it) => {
    it.effect("every /public/v1 response carries RateLimit-Policy and RateLimit, errors included", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const [accepted, acceptedResponse] = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records: [event] },
          withResponse: true
        })
        const responses = [
          acceptedResponse.headers,
          (yield* api.alpha.jobs.getJob({
            path: { object: "events", jobId: accepted.data.jobId },
            headers: {},
            withResponse: true
          }))[1].headers,
          (yield* api.alpha.objects.listObjects({ withResponse: true }))[1].headers,
          (yield* api.alpha.records.listRecords({ path: { object: "events" }, urlParams: {}, withResponse: true }))[1]
            .headers
        ]
        const raw = [
          yield* TestService.rawGet("/public/v1/objects/nothing_here", { token: TestService.tokens.alpha }),
          yield* TestService.rawPost("/public/v1/records/events/append-batch", "{", {
            token: TestService.tokens.alpha
          }),
          yield* TestService.rawPost("/public/v1/records/events/append-batch", "{}", {
            token: TestService.tokens.alphaRead
          }),
          yield* TestService.rawGet("/public/v1/records/events", {
            token: TestService.tokens.alpha,
            headers: { accept: "application/x-ndjson" }
          })
        ]
        assert.deepStrictEqual(
          raw.map((response) => response.status),
          [404, 400, 403, 200]
        )
        for (const headers of [...responses, ...raw.map((response) => response.headers)]) {
          const rate = rateHeadersOf(headers)
          // The test service's tokens: 1,000 requests/s with a burst of 5,000.
          assert.strictEqual(rate.policy.quota, 5_000)
          assert.isAtMost(rate.remaining, 5_000)
        }
      })
    )
  })

  layer(TestService.layer({ adapter, rateLimit: { requestsPerSecond: 1, burst: 3 } }), { excludeTestServices: true })(
    "429 (SPEC §1.8)",
    (it) => {
      it.effect("over the limit is 429 RATE_LIMITED with Retry-After; after that wait the token is served again", () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const remaining: Array<number> = []
          for (let i = 0; i < 3; i++) {
            const [, response] = yield* api.alpha.objects.listObjects({ withResponse: true })
            const rate = rateHeadersOf(response.headers)
            assert.deepStrictEqual(rate.policy, { name: rate.policy.name, quota: 3, window: 3 })
            remaining.push(rate.remaining)
          }
          assert.deepStrictEqual(remaining, [2, 1, 0])
          const limited = yield* Effect.flip(api.alpha.objects.listObjects())
          assert.strictEqual(limited._tag, "RateLimited")
          if (limited._tag !== "RateLimited") return
          assert.isAtLeast(limited.retryAfter, 1)

          const raw = yield* TestService.rawGet("/public/v1/objects", { token: TestService.tokens.alpha })
          const error = TestService.expectError(raw, 429, "RateLimited")
          assert.strictEqual(raw.headers[ResponseHeaders.retryAfter], String(error.retryAfter))
          assert.strictEqual(rateHeadersOf(raw.headers).remaining, 0)

          yield* Effect.sleep(Duration.seconds(error.retryAfter))
          const served = yield* api.alpha.objects.listObjects()
          assert.isTrue(served.success)
        })
      )

      it.effect("one request counts one, whatever its record count", () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const small = yield* api.beta.records.appendBatch({
            path: { object: "events" },
            headers: {},
            payload: { records: [event] },
            withResponse: true
          })
          const large = yield* api.beta.records.appendBatch({
            path: { object: "events" },
            headers: {},
            payload: { records: Array.from({ length: 5_000 }, () => event) },
            withResponse: true
          })
          assert.strictEqual(rateHeadersOf(small[1].headers).remaining, 2)
          assert.strictEqual(rateHeadersOf(large[1].headers).remaining, 1)
        })
      )

      it.effect("buckets are per token: one token over its limit does not limit another", () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          for (let i = 0; i < 3; i++) yield* api.alphaAdmin.objects.listObjects()
          const limited = yield* Effect.flip(api.alphaAdmin.objects.listObjects())
          assert.strictEqual(limited._tag, "RateLimited")
          const other = yield* api.alphaRead.records.listRecords({ path: { object: "events" }, urlParams: {} })
          assert.isTrue(other.success)
        })
      )

      it.effect("a 429 is not stored under its Idempotency-Key: after Retry-After the same key succeeds", () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const key = `after-429-${Date.now()}`
          const body = JSON.stringify({ records: [event, event] })
          const post = TestService.rawPost("/public/v1/records/events/append-batch", body, {
            token: TestService.tokens.alphaWrite,
            headers: { "idempotency-key": key }
          })
          for (let i = 0; i < 3; i++) {
            yield* api.alphaWrite.records.appendBatch({
              path: { object: "events" },
              headers: {},
              payload: { records: [event] }
            })
          }
          const refused = yield* post
          const error = TestService.expectError(refused, 429, "RateLimited")
          assert.isUndefined(refused.headers[ResponseHeaders.idempotentReplayed])

          yield* Effect.sleep(Duration.seconds(error.retryAfter))
          const accepted = yield* post
          assert.strictEqual(accepted.status, 202, accepted.text)
          assert.isUndefined(accepted.headers[ResponseHeaders.idempotentReplayed])
          // Read with another token of the workspace: alphaWrite's bucket is nearly empty.
          const job = yield* TestService.awaitJob(
            api.alphaRead,
            "events",
            TestService.dataOf<{ jobId: string }>(accepted).jobId
          )
          assert.strictEqual(job.metrics.insertedRows, 2)

          // Now the 202 is what the key replays.
          yield* Effect.sleep(Duration.seconds(1))
          const replay = yield* post
          assert.strictEqual(replay.status, 202, replay.text)
          assert.strictEqual(replay.text, accepted.text)
          assert.strictEqual(replay.headers[ResponseHeaders.idempotentReplayed], "true")
        })
      )
    }
  )
})

TestService.onPostgres("rate limits across nodes (SPEC §1.8)", (adapter) => {
  it.live("two nodes on one database share one budget per token", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const database = yield* adapter.freshDatabase
        const rateLimit = { requestsPerSecond: 0.2, burst: 4 }
        const nodes = yield* Effect.all(
          [0, 1].map(() =>
            Effect.map(Layer.build(TestService.layer({ database, rateLimit })), (context) =>
              Context.get(context, TestService.TestService)
            )
          )
        )
        const statuses: Array<number> = []
        for (let i = 0; i < 8; i++) {
          const response = yield* TestService.rawGet("/public/v1/objects", { token: TestService.tokens.alpha }).pipe(
            Effect.provideService(TestService.TestService, nodes[i % 2]!)
          )
          statuses.push(response.status)
        }
        // Four requests in all, on whichever node, then 429 on both.
        assert.deepStrictEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429])
        // Concurrent requests on both nodes for another token never spend one token twice.
        const concurrent = yield* Effect.all(
          Array.from({ length: 12 }, (_, i) =>
            TestService.rawGet("/public/v1/objects", { token: TestService.tokens.beta }).pipe(
              Effect.provideService(TestService.TestService, nodes[i % 2]!)
            )
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(concurrent.filter((response) => response.status === 200).length, 4)
      })
    )
  )

  it.live("nodes take the budget in slices and never allow more than it, whatever the concurrency", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const database = yield* adapter.freshDatabase
        // Slices of 5 (50 ms of 100/s); a budget of 100 at once, refilled at 100/s.
        const rateLimit = { requestsPerSecond: 100, burst: 100 }
        assert.strictEqual(sliceOf(rateLimit), 5)
        const nodes = yield* Effect.all(
          [0, 1].map(() =>
            Effect.map(Layer.build(TestService.layer({ database, rateLimit })), (context) =>
              Context.get(context, TestService.TestService)
            )
          )
        )
        const started = Date.now()
        const responses = yield* Effect.all(
          Array.from({ length: 300 }, (_, i) =>
            TestService.rawGet("/public/v1/objects", { token: TestService.tokens.alpha }).pipe(
              Effect.provideService(TestService.TestService, nodes[i % 2]!)
            )
          ),
          { concurrency: 16 }
        )
        const seconds = (Date.now() - started) / 1_000
        const allowed = responses.filter((response) => response.status === 200).length
        // Each request is allowed or refused; how many are refused depends on how fast the machine sends them (a
        // loaded one sends 300 in more than the 2 s that refill them all): the bound below says when 429s must appear.
        assert.includeMembers([200, 429], [...new Set(responses.map((response) => response.status))])
        // Never beyond the budget; at most a slice per node short of it (a slice taken and not yet spent).
        assert.isAtMost(allowed, 100 + Math.ceil(100 * seconds))
        assert.isAtLeast(allowed, 100 - 2 * 5)
      })
    )
  )
})
