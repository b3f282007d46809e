import { ErrorCode, type Job } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Ref, type Schedule, ScheduleDecision, ScheduleIntervals, TestClock } from "effect"
import {
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  type RecordsClientError,
  SchemaMismatch,
  ServerError,
  TransportError,
  Unauthorized
} from "../src/Errors.js"
import { pollPolicy, retryPolicy } from "../src/Policies.js"

/** The delays (ms) a schedule waits after each of these failures in turn, until it stops. */
const delaysOf = <In>(schedule: Schedule.Schedule<unknown, In>, inputs: ReadonlyArray<In>) =>
  Effect.gen(function* () {
    const delays: Array<number> = []
    let state = schedule.initial
    let now = 0
    for (const input of inputs) {
      const [next, , decision] = yield* schedule.step(now, input, state)
      if (ScheduleDecision.isDone(decision)) break
      const start = ScheduleIntervals.start(decision.intervals)
      delays.push(Math.round(start - now))
      now = start
      state = next
    }
    return delays
  })

const unavailable = new ServerError({ message: "down", status: 503 })

describe("retryPolicy", () => {
  it.effect("waits at least Retry-After, whatever the backoff", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(
        retryPolicy({ base: "10 millis", cap: "100 millis" }),
        Array.from({ length: 5 }, () => new RateLimited({ message: "slow down", retryAfter: 3 }))
      )
      assert.strictEqual(delays.length, 5)
      for (const delay of delays) assert.strictEqual(delay, 3_000)
      const inProgress = yield* delaysOf(retryPolicy({ base: "10 millis" }), [
        new IdempotencyInProgress({ message: "busy", retryAfter: 2 })
      ])
      assert.deepStrictEqual(inProgress, [2_000])
    })
  )

  it.effect("backs off exponentially with full jitter under the cap", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(
        retryPolicy({ base: "100 millis", factor: 2, cap: "1 second", maxRetries: 20, maxElapsed: "1 hour" }),
        Array.from({ length: 20 }, () => unavailable)
      )
      assert.strictEqual(delays.length, 20)
      delays.forEach((delay, n) => {
        assert.isAtLeast(delay, 0)
        assert.isAtMost(delay, Math.min(1_000, 100 * 2 ** n), `retry ${n}`)
      })
      // full jitter: not every delay sits at its bound
      assert.isTrue(delays.some((delay, n) => delay < Math.min(1_000, 100 * 2 ** n) * 0.8))
    })
  )

  it.effect("stops after maxRetries", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(
        retryPolicy({ maxRetries: 3 }),
        Array.from({ length: 10 }, () => new TransportError({ message: "reset" }))
      )
      assert.strictEqual(delays.length, 3)
    })
  )

  it.effect("stops once maxElapsed has passed", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(
        retryPolicy({ maxRetries: 100, maxElapsed: "25 seconds" }),
        Array.from({ length: 100 }, () => new RateLimited({ message: "slow down", retryAfter: 10 }))
      )
      // retries start at 0 s, 10 s and 20 s; at 30 s the 25 s are over
      assert.deepStrictEqual(delays, [10_000, 10_000, 10_000])
    })
  )

  it.effect("retries 408, 429, 409 in progress, 5xx but 501/505, and transport errors only", () =>
    Effect.gen(function* () {
      const retried: ReadonlyArray<RecordsClientError> = [
        new ServerError({ message: "timeout", status: 408 }),
        new ServerError({ message: "internal", status: 500 }),
        new ServerError({ message: "bad gateway", status: 502 }),
        unavailable,
        new ServerError({ message: "gateway timeout", status: 504 }),
        new RateLimited({ message: "slow", retryAfter: 0 }),
        new IdempotencyInProgress({ message: "busy", retryAfter: 0 }),
        new TransportError({ message: "reset" })
      ]
      const notRetried: ReadonlyArray<RecordsClientError> = [
        new InvalidRequest({ message: "bad", status: 400 }),
        new SchemaMismatch({ message: "unknown", unknownFields: [{ field: "x", firstIndex: 0 }] }),
        new Unauthorized({ message: "who" }),
        new Forbidden({ message: "no" }),
        new NotFound({ message: "none", code: ErrorCode.NotFoundObject }),
        new PayloadTooLarge({ message: "big", limit: 10, size: 11 }),
        new IdempotencyKeyReused({ message: "reused" }),
        new ServerError({ message: "not implemented", status: 501 }),
        new ServerError({ message: "version", status: 505 }),
        new ServerError({ message: "a 202 that does not decode", status: 202 })
      ]
      for (const error of retried) {
        assert.strictEqual((yield* delaysOf(retryPolicy(), [error])).length, 1, error._tag)
      }
      for (const error of notRetried) {
        assert.strictEqual((yield* delaysOf(retryPolicy(), [error])).length, 0, `${error._tag} ${error.message}`)
      }
    })
  )

  it.effect("drives Effect.retry on the TestClock: waits Retry-After, then gives up with the error", () =>
    Effect.gen(function* () {
      const attempts = yield* Ref.make<ReadonlyArray<number>>([])
      const attempt = Effect.gen(function* () {
        yield* Ref.update(attempts, (times) => [...times, 0]).pipe(
          Effect.zipRight(Clock.currentTimeMillis),
          Effect.flatMap((now) => Ref.update(attempts, (times) => [...times.slice(0, -1), now]))
        )
        return yield* Effect.fail(new RateLimited({ message: "slow down", retryAfter: 2 }))
      })
      const fiber = yield* Effect.fork(
        Effect.retry(attempt, retryPolicy({ base: "10 millis", cap: "50 millis", maxRetries: 3 }))
      )
      yield* TestClock.adjust("1999 millis")
      assert.deepStrictEqual(yield* Ref.get(attempts), [0])
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Ref.get(attempts), [0, 2_000])
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(yield* Ref.get(attempts), [0, 2_000, 4_000, 6_000])
      assert.isTrue(exit._tag === "Failure")
    })
  )

  it.effect("never retries a 400 on the TestClock", () =>
    Effect.gen(function* () {
      const attempts = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Effect.retry(
          Ref.update(attempts, (n) => n + 1).pipe(
            Effect.zipRight(Effect.fail(new InvalidRequest({ message: "bad", status: 400 })))
          ),
          retryPolicy()
        )
      )
      yield* TestClock.adjust("1 hour")
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(yield* Ref.get(attempts), 1)
    })
  )
})

const job = (state: Job.JobState): Job.Job => ({
  jobId: "rjob_01JD5X8Q2W3E4R5T6Y7Z8A9B0C",
  operation: "append-batch",
  objectName: "events",
  sequence: 1,
  state,
  acceptedRecords: 1,
  createdAt: "2026-04-21T15:00:00.000Z",
  startedAt: null,
  completedAt: null,
  metrics: { totalRows: 1, processedRows: 0, insertedRows: 0, updatedRows: 0, staleRows: 0, invalidRows: 0 },
  errors: [],
  errorsPath: "/records/events/jobs/rjob_01JD5X8Q2W3E4R5T6Y7Z8A9B0C/errors"
})

describe("pollPolicy", () => {
  it.effect("waits 2 s, ×1.5, jittered, capped at 15 s", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(
        pollPolicy(),
        Array.from({ length: 12 }, () => job("processing"))
      )
      assert.strictEqual(delays.length, 12)
      delays.forEach((delay, n) => {
        const nominal = 2_000 * 1.5 ** n
        assert.isAtLeast(delay, Math.min(nominal * 0.8, 15_000), `poll ${n}`)
        assert.isAtMost(delay, Math.min(nominal * 1.2, 15_000), `poll ${n}`)
      })
      assert.strictEqual(delays[11], 15_000)
    })
  )

  it.effect("stops at a terminal state and outputs the job", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf(pollPolicy(), [job("queued"), job("processing"), job("completed"), job("queued")])
      assert.strictEqual(delays.length, 2)
      assert.strictEqual((yield* delaysOf(pollPolicy(), [job("failed")])).length, 0)
    })
  )

  it.effect("drives Effect.repeat on the TestClock", () =>
    Effect.gen(function* () {
      const states: Array<Job.JobState> = ["queued", "processing", "completed"]
      const polls = yield* Ref.make(0)
      const getJob = Ref.getAndUpdate(polls, (n) => n + 1).pipe(Effect.map((n) => job(states[n]!)))
      const fiber = yield* Effect.fork(Effect.repeat(getJob, pollPolicy()))
      yield* TestClock.adjust("1500 millis")
      assert.strictEqual(yield* Ref.get(polls), 1)
      yield* TestClock.adjust("1 minute")
      const done = yield* Fiber.join(fiber)
      assert.strictEqual(done.state, "completed")
      assert.strictEqual(yield* Ref.get(polls), 3)
    })
  )
})
