/**
 * Claiming from a long queue of ordered jobs on PostgreSQL (SPEC §1.5): the claim must cost about the same whatever
 * the object's backlog and history. It once probed, for every queued job, the object's earlier jobs with
 * `state IN ('queued', 'processing')` as a mere filter of `jobs_object_order`, so each probe walked every completed
 * job of the object: a claim cost backlog × history (230 ms with 2,760 queued behind 240 completed) and 1-record
 * upserts drained at ~4 jobs/s under load (this drain took ~27 s; now about a second). The cost is measured where
 * timing belongs, by the benchmark harness (`pnpm bench --backends postgres --operations upsert-batch --sizes 1`,
 * whose row fails when its jobs do not finish); this test keeps the claim order over a long backlog and history.
 */
import type { Job } from "@batchwrite/core"
import { assert, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { acceptBatch, onPostgres, storageOn } from "./TestStorage.js"

const history = 600
const backlog = 600

const metrics: Job.JobMetrics = {
  totalRows: 1,
  processedRows: 1,
  insertedRows: 1,
  updatedRows: 0,
  staleRows: 0,
  invalidRows: 0
}

onPostgres("claiming from a long queue of ordered jobs", (adapter) => {
  it.live(
    "jobs queued behind a long history are claimed one by one in sequence order",
    () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const upsert = (i: number) =>
          acceptBatch({ workspace: "w", object: "profiles", matchKey: "email", records: [{ email: `u${i}@x.io` }] })
        const claimAndComplete = Effect.gen(function* () {
          const claimed = Option.getOrThrow(yield* jobs.claimNext())
          assert.deepStrictEqual(yield* jobs.completeAll([{ claimed, metrics, errorCount: 0 }], new Date()), [])
          return claimed
        })
        // The object's history: jobs accepted and completed one at a time.
        for (let i = 0; i < history; i++) {
          yield* upsert(i)
          yield* claimAndComplete
        }
        // Then a backlog queued at once, all ordered behind one another.
        const accepted: Array<number> = []
        for (let i = history; i < history + backlog; i++) accepted.push((yield* upsert(i)).sequence)

        const claimed: Array<number> = []
        for (let i = 0; i < backlog; i++) claimed.push((yield* claimAndComplete).sequence)

        assert.deepStrictEqual(claimed, accepted, "claimed in acceptance order")
        assert.isTrue(Option.isNone(yield* jobs.claimNext()))
      }).pipe(Effect.provide(storageOn(adapter))),
    120_000
  )
})
