import { assert, describe, it } from "@effect/vitest"
import { Job } from "@batchwrite/core"
import { Deferred, Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import {
  type IdempotencyScope,
  IdempotencyRepo,
  type KeyHold,
  type StoredResponse
} from "../../src/storage/IdempotencyRepo.js"
import { fingerprintOf, withIdempotency } from "../../src/http/IdempotentRequest.js"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { countRows, newJobId, forEachAdapter, storageOn } from "./TestStorage.js"

forEachAdapter((adapter) => {
  const TestStorage = storageOn(adapter)

  const scope: IdempotencyScope = {
    workspace: "w",
    method: "POST",
    path: "/public/v1/records/events/append-batch",
    key: "k1"
  }

  const response: StoredResponse = {
    status: 202,
    headers: { location: "/public/v1/records/events/jobs/rjob_x", "x-records": "2" },
    body: '{"success": true,  "data": {"jobId": "rjob_x", "note": "caf\\u00e9 ☕"}}'
  }

  /** Takes a key that must be free (`begin` answers `Fresh`); answers the hold that releases it. */
  const takeKey = (key: IdempotencyScope, fingerprint: string): Effect.Effect<KeyHold, never, IdempotencyRepo> =>
    Effect.map(
      Effect.flatMap(IdempotencyRepo, (keys) => keys.begin(key, fingerprint)),
      (begun) => {
        if (begun._tag !== "Fresh") assert.fail(`the key was not free: ${begun._tag}`)
        return begun.hold
      }
    )

  describe("idempotency keys (SPEC §1.7)", () => {
    it.effect("fresh, in progress, completed and replayed byte for byte, mismatched", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        const first = yield* takeKey(scope, "f1")
        assert.deepStrictEqual(yield* keys.begin(scope, "f1"), { _tag: "InProgress", retryAfterSeconds: 1 })
        assert.deepStrictEqual(yield* keys.begin(scope, "f2"), { _tag: "Mismatch" })
        yield* keys.complete(scope, response)
        assert.deepStrictEqual(yield* keys.begin(scope, "f1"), { _tag: "Replay", response })
        assert.deepStrictEqual(yield* keys.begin(scope, "f2"), { _tag: "Mismatch" })
        // Releasing a completed key changes nothing.
        yield* keys.release(scope, first)
        assert.deepStrictEqual(yield* keys.begin(scope, "f1"), { _tag: "Replay", response })
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("the scope is workspace + method + path + key", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        yield* keys.begin(scope, "f1")
        yield* keys.complete(scope, response)
        for (const other of [
          { ...scope, workspace: "w2" },
          { ...scope, method: "PUT" },
          { ...scope, path: "/public/v1/records/profiles/append-batch" },
          { ...scope, key: "k2" }
        ]) {
          assert.strictEqual((yield* keys.begin(other, "f1"))._tag, "Fresh")
        }
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("release frees a key in progress (a 429, a 5xx, a dead request)", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        yield* keys.release(scope, yield* takeKey(scope, "f1"))
        assert.strictEqual((yield* keys.begin(scope, "f2"))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a release that comes after the key's lease ran out and another request took it frees nothing", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        const ended = yield* takeKey(scope, "f1")
        // The request ended while its release failed (storage down); the lease runs out and a retry takes the key.
        yield* TestClock.adjust(Duration.minutes(2))
        const retry = yield* takeKey(scope, "f1")
        // The ended request's release, retried in the background, succeeds now: the retry still holds the key.
        yield* keys.release(scope, ended)
        assert.deepStrictEqual(yield* keys.begin(scope, "f1"), { _tag: "InProgress", retryAfterSeconds: 1 })
        yield* keys.release(scope, retry)
        assert.strictEqual((yield* keys.begin(scope, "f1"))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a request interrupted while it is handled (its client went away) frees its key at once", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        const started = yield* Deferred.make<void>()
        const request = yield* Effect.fork(
          withIdempotency(Option.some(scope), "{}", () =>
            Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
          )
        )
        yield* Deferred.await(started)
        assert.strictEqual((yield* keys.begin(scope, fingerprintOf("{}")))._tag, "InProgress")
        yield* Fiber.interrupt(request)
        assert.strictEqual((yield* keys.begin(scope, fingerprintOf("{}")))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a request interrupted while its key is being taken still frees the key", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        const taken = yield* Deferred.make<void>()
        const proceed = yield* Deferred.make<void>()
        // The key is taken in the database, and the request is interrupted before `begin` has answered.
        const slowBegin = IdempotencyRepo.make({
          ...keys,
          begin: (scope, fingerprint) =>
            keys
              .begin(scope, fingerprint)
              .pipe(Effect.zipLeft(Deferred.succeed(taken, undefined)), Effect.zipLeft(Deferred.await(proceed)))
        })
        const request = yield* Effect.fork(
          withIdempotency(Option.some(scope), "{}", () => Effect.never).pipe(
            Effect.provideService(IdempotencyRepo, slowBegin)
          )
        )
        yield* Deferred.await(taken)
        const interrupting = yield* Effect.fork(Fiber.interrupt(request))
        yield* Deferred.succeed(proceed, undefined)
        yield* Fiber.join(interrupting)
        assert.strictEqual((yield* keys.begin(scope, fingerprintOf("{}")))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a lease that ran out (a crashed request) frees the key", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        yield* keys.begin(scope, "f1")
        yield* TestClock.adjust(Duration.seconds(59))
        assert.strictEqual((yield* keys.begin(scope, "f1"))._tag, "InProgress")
        yield* TestClock.adjust(Duration.seconds(2))
        assert.strictEqual((yield* keys.begin(scope, "f2"))._tag, "Fresh")
        assert.strictEqual((yield* keys.begin(scope, "f2"))._tag, "InProgress")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a key expires 24 hours after its first use; purgeExpired deletes it", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        yield* keys.begin(scope, "f1")
        yield* keys.complete(scope, response)
        yield* keys.begin({ ...scope, key: "k2" }, "f1")
        yield* TestClock.adjust(Duration.hours(23))
        assert.strictEqual((yield* keys.begin(scope, "f1"))._tag, "Replay")
        assert.strictEqual(yield* keys.purgeExpired(), 0)
        yield* TestClock.adjust(Duration.hours(1))
        assert.strictEqual(yield* keys.purgeExpired(), 2)
        assert.strictEqual((yield* keys.begin(scope, "f2"))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("an expired key counts as absent even before the purge", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        yield* keys.begin(scope, "f1")
        yield* keys.complete(scope, response)
        yield* TestClock.adjust(Duration.hours(24))
        assert.strictEqual((yield* keys.begin(scope, "f2"))._tag, "Fresh")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect(
      "releaseAbandoned frees the keys in progress left by a previous run (on shared storage, once their lease ran out) and keeps completed ones",
      () =>
        Effect.gen(function* () {
          const keys = yield* IdempotencyRepo
          yield* keys.begin(scope, "f1")
          yield* keys.begin({ ...scope, key: "k2" }, "f1")
          yield* keys.begin({ ...scope, key: "k3" }, "f1")
          yield* keys.complete({ ...scope, key: "k3" }, response)
          if (adapter.name === "postgres") {
            // Other nodes may hold keys in progress: only expired leases are taken back.
            assert.strictEqual(yield* keys.releaseAbandoned(), 0)
            yield* TestClock.adjust(Duration.minutes(2))
          }
          assert.strictEqual(yield* keys.releaseAbandoned(), 2)
          assert.strictEqual((yield* keys.begin(scope, "f9"))._tag, "Fresh")
          assert.strictEqual((yield* keys.begin({ ...scope, key: "k3" }, "f1"))._tag, "Replay")
        }).pipe(Effect.provide(TestStorage))
    )

    it.effect("queueing completes the key in the same transaction as the job; a failed queueing leaves neither", () =>
      Effect.gen(function* () {
        const keys = yield* IdempotencyRepo
        const jobs = yield* JobsRepo
        const jobId = newJobId()
        const input = {
          jobId,
          workspace: "w",
          objectName: "events",
          plan: Job.planBatch("append-batch", [], null),
          body: '{"records":[{"event":"a","occurred_at":"2026-04-21T15:00:00Z"}]}',
          acceptedRecords: 1,
          createdAt: new Date()
        }
        // What the idempotency wrapper stores in the acceptance's transaction.
        const completing = (scope: IdempotencyScope, response: StoredResponse) =>
          Effect.flatMap(keys.completeHeld(scope, response), (held) =>
            held ? Effect.void : Effect.dieMessage("not held")
          )
        yield* keys.begin(scope, "f1")
        yield* jobs.queue(input, completing(scope, response))
        assert.deepStrictEqual(yield* keys.begin(scope, "f1"), { _tag: "Replay", response })

        // The same job id again violates the jobs' primary key: the whole accept rolls back.
        const second = { ...scope, key: "k2" }
        yield* keys.begin(second, "f1")
        const exit = yield* Effect.exit(jobs.queue(input, completing(second, { ...response, status: 200 })))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual((yield* keys.begin(second, "f1"))._tag, "InProgress")
        assert.strictEqual(yield* countRows("jobs"), 1)
        // A key no longer held (released, or completed by a request that took it over) queues nothing.
        const third = { ...scope, key: "k3" }
        yield* keys.release(third, yield* takeKey(third, "f1"))
        const released = yield* Effect.exit(jobs.queue({ ...input, jobId: newJobId() }, completing(third, response)))
        assert.isTrue(Exit.isFailure(released))
        assert.strictEqual(yield* countRows("jobs"), 1)
        // The sequences these allocated rolled back too.
        const nextId = newJobId()
        yield* jobs.queue({ ...input, jobId: nextId }, Effect.void)
        assert.strictEqual(Option.getOrThrow(yield* jobs.get("w", "events", nextId)).sequence, 2)
      }).pipe(Effect.provide(TestStorage))
    )
  })
})
