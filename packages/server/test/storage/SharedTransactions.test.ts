/**
 * Accepts of one workspace share transactions (group commit of writes): concurrent accepts still each get their own
 * sequence, in one order, and each succeeds or fails on its own.
 */
import { Job } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Either, Fiber } from "effect"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { countRows, forEachAdapter, newJobId, storageOn } from "./TestStorage.js"

class Refused extends Data.TaggedError("Refused")<{ readonly jobId: string }> {}

forEachAdapter((adapter) => {
  const TestStorage = storageOn(adapter)

  const input = (workspace: string) => ({
    jobId: newJobId(),
    workspace,
    objectName: "events",
    plan: Job.planBatch("append-batch", [], null),
    body: JSON.stringify({ records: [{ event: "e", occurred_at: "2026-01-01T00:00:00Z" }] }),
    acceptedRecords: 1,
    createdAt: new Date()
  })

  describe("shared accept transactions", () => {
    it.effect("concurrent accepts each get their own sequence; one refused write does not fail the others", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const inputs = Array.from({ length: 40 }, () => input("w"))
        const refusedId = inputs[17]!.jobId
        const results = yield* Effect.forEach(
          inputs,
          (batch) =>
            Effect.either(
              jobs.queue(batch, batch.jobId === refusedId ? new Refused({ jobId: batch.jobId }) : Effect.void)
            ),
          { concurrency: "unbounded" }
        )
        const failed = results.flatMap((result, i) => (Either.isLeft(result) ? [inputs[i]!.jobId] : []))
        assert.deepStrictEqual(failed, [refusedId])
        const sequences = yield* Effect.forEach(inputs, (batch) => jobs.get("w", "events", batch.jobId))
        const stored = sequences.flatMap((job) => (job._tag === "Some" ? [job.value.sequence] : []))
        assert.strictEqual(stored.length, 39)
        assert.deepStrictEqual(
          [...stored].sort((a, b) => a - b),
          Array.from({ length: 39 }, (_, i) => i + 1)
        )
        assert.strictEqual(yield* countRows("jobs"), 39)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("an accept interrupted while it waits for the shared transaction is queued whole or not at all", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const fibers = yield* Effect.forEach(
          Array.from({ length: 30 }, () => input("v")),
          (batch) => Effect.fork(jobs.queue(batch, Effect.void))
        )
        yield* Effect.forEach(
          fibers.filter((_, i) => i % 3 === 1),
          Fiber.interrupt
        )
        yield* Effect.forEach(fibers, Fiber.await)
        const queued = yield* countRows("jobs")
        assert.isAtLeast(queued, 20)
        assert.strictEqual(yield* countRows("job_bodies"), queued)
      }).pipe(Effect.provide(TestStorage))
    )
  })
})
