/**
 * Group commit: a worker claims the next job with the queued jobs of its object after it and applies them in one
 * transaction. Inline apply: a job is applied in its acceptance's transaction when nothing of its object is queued or
 * processing. The law, for both: whatever the jobs, every job's outcome (state, metrics, row errors and their
 * messages) and the stored rows are exactly those of processing the jobs one at a time in acceptance order.
 */
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, FastCheck as fc, Option } from "effect"
import { GroupCommit, type GroupCommitSettings, JobProcessor } from "../../src/jobs/JobProcessor.js"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { acceptBatch, acceptInline, forEachAdapter, putObject, storageOn, storedRows, things } from "./TestStorage.js"

const value = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(null), fc.constant(undefined))
const recordArb = fc
  .record({
    k: fc.oneof(fc.constantFrom("k1", "k2", "k3", "k4", "k5"), fc.constant(undefined)),
    alt: fc.oneof(fc.constantFrom("x", "y"), fc.constant(null), fc.constant(undefined), fc.constant(5)),
    a: value,
    t: value
  })
  .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)))
/** A job: an append (its records may take keys already held) or an upsert by one of the match keys. */
const jobArb = fc.record({
  matchKey: fc.constantFrom(undefined, "k", "k", "alt"),
  records: fc.array(recordArb, { minLength: 1, maxLength: 8 })
})

const budget = (jobs: number, records: number): GroupCommitSettings => ({ jobs, records, linger: Duration.zero })
const serial = budget(1, 10_000)

forEachAdapter((adapter) => {
  let run = 0

  /**
   * Accepts the jobs in a new workspace (the first `queuedFirst` queued, the rest with inline apply, or all queued)
   * and processes what was queued with the budget; answers what a client can read.
   */
  const outcome = (
    jobs: ReadonlyArray<typeof jobArb extends fc.Arbitrary<infer J> ? J : never>,
    settings = serial,
    queuedFirst = jobs.length
  ) =>
    Effect.gen(function* () {
      const repo = yield* JobsRepo
      const processor = yield* JobProcessor
      const workspace = `group${run++}`
      yield* putObject(workspace, things)
      const ids: Array<string> = []
      // Which jobs were applied inline.
      const applied: Array<boolean> = []
      for (const [i, job] of jobs.entries()) {
        const options = { workspace, object: "things", matchKey: job.matchKey, records: job.records }
        const accepted = yield* i < queuedFirst ? acceptBatch(options) : acceptInline(options)
        ids.push(accepted.jobId)
        applied.push(accepted.applied)
      }
      // The size of each group a worker claimed, in order.
      const groups: Array<number> = []
      while (true) {
        const processed = yield* Effect.provideService(processor.processNext, GroupCommit, settings)
        if (Option.isNone(processed)) break
        groups.push(processed.value.length)
      }
      const rows = yield* storedRows(workspace, "things")
      // Row ids are shared by every workspace of the database: name each row by its place in the object instead.
      const place = new Map(rows.map((row, i) => [String(row._id), `#${i}`]))
      const renamed = (text: string) =>
        text.replace(/record (\d+)/g, (_, id: string) => `record ${place.get(id) ?? id}`)
      const finished = yield* Effect.forEach(ids, (jobId) =>
        Effect.map(repo.get(workspace, "things", jobId, { errorsLimit: Number.POSITIVE_INFINITY }), (found) => {
          const job = Option.getOrThrow(found)
          return {
            state: job.state,
            metrics: job.metrics,
            errors: job.errors.map((error) => ({ ...error, message: renamed(error.message) }))
          }
        })
      )
      return {
        jobs: finished,
        rows: rows.map(({ _id, ...fields }) => ({ _id: place.get(String(_id)), ...fields })),
        groups,
        applied
      }
    })

  layer(storageOn(adapter))("group commit", (it) => {
    it.effect.prop(
      "applying the queued jobs of an object together gives each job the outcome it has when applied alone",
      [fc.array(jobArb, { minLength: 2, maxLength: 10 })],
      ([jobs]) =>
        Effect.gen(function* () {
          const alone = yield* outcome(jobs)
          const together = yield* outcome(jobs, budget(1_000, 10_000))
          assert.deepStrictEqual(together.jobs, alone.jobs)
          assert.deepStrictEqual(together.rows, alone.rows)
          assert.isTrue(alone.groups.every((size) => size === 1))
          assert.deepStrictEqual(together.groups, [jobs.length])
        }),
      { fastCheck: { numRuns: 40 } }
    )

    it.effect.prop(
      "applying a job in its acceptance's transaction gives it the outcome it has when queued; behind a queued job it is queued",
      [fc.array(jobArb, { minLength: 2, maxLength: 10 }), fc.nat(3)],
      ([jobs, queuedFirst]) =>
        Effect.gen(function* () {
          const alone = yield* outcome(jobs)
          const inline = yield* outcome(jobs, serial, Math.min(queuedFirst, jobs.length))
          assert.deepStrictEqual(inline.jobs, alone.jobs)
          assert.deepStrictEqual(inline.rows, alone.rows)
          // Every job of `things` is ordered (it has match keys): applied inline only with nothing queued before it.
          assert.deepStrictEqual(
            inline.applied,
            jobs.map(() => queuedFirst === 0)
          )
        }),
      { fastCheck: { numRuns: 40 } }
    )

    it.effect("appends to an object without match keys are applied inline, in acceptance order of sequence", () =>
      Effect.gen(function* () {
        const repo = yield* JobsRepo
        const workspace = `plain${run++}`
        const plain = { name: "plain", fields: things.fields, matchKeys: [] }
        yield* putObject(workspace, plain)
        const accepted = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) =>
            acceptInline({
              workspace,
              object: "plain",
              records: [
                { k: `p${i}`, a: i },
                { k: `q${i}`, a: "x" }
              ]
            })
          ),
          { concurrency: "unbounded" }
        )
        assert.isTrue(accepted.every((job) => job.applied))
        const sequences = accepted.map((job) => job.sequence)
        assert.isTrue(sequences.every((sequence) => sequence > 0))
        assert.strictEqual(new Set(sequences).size, sequences.length)
        for (const { jobId } of accepted) {
          const job = Option.getOrThrow(yield* repo.get(workspace, "plain", jobId))
          assert.strictEqual(job.state, "completed")
          assert.deepStrictEqual([job.metrics.insertedRows, job.metrics.invalidRows], [1, 1])
          assert.strictEqual(job.errors[0]?.pointer, "/records/1/a")
        }
        assert.strictEqual((yield* storedRows(workspace, "plain")).length, 6)
      })
    )

    it.effect("a row error naming a row that an earlier job of the group created names it by that row's id", () =>
      Effect.gen(function* () {
        const jobs = [
          { matchKey: "k", records: [{ k: "k1", alt: "x" }, { k: "k2" }, { k: "k3", alt: "y" }] },
          { matchKey: "k", records: [{ k: "k4", alt: "x" }, { k: "k5", alt: "y" }, { k: "k6" }] }
        ]
        const together = yield* outcome(jobs, budget(1_000, 10_000))
        assert.deepStrictEqual(together.groups, [2])
        // `#i`: the i-th row of the object (`outcome` renames ids by place).
        assert.deepStrictEqual(
          together.jobs[1]!.errors.map((error) => error.message),
          ['alt "x" already belongs to record #0', 'alt "y" already belongs to record #2']
        )
        assert.deepStrictEqual(
          together.rows.map((row) => (row as { readonly k?: unknown }).k),
          ["k1", "k2", "k3", "k6"]
        )
      })
    )

    it.effect("a group stops at its budget of jobs and of records", () =>
      Effect.gen(function* () {
        const jobs = Array.from({ length: 7 }, (_, i) => ({ matchKey: "k", records: [{ k: `k${i}`, a: i }] }))
        const byJobs = yield* outcome(jobs, budget(3, 10_000))
        assert.deepStrictEqual(byJobs.groups, [3, 3, 1])
        assert.deepStrictEqual(
          byJobs.jobs.map((job) => job.metrics.insertedRows),
          jobs.map(() => 1)
        )
        const wide = Array.from({ length: 4 }, (_, i) => ({
          matchKey: undefined,
          records: Array.from({ length: 5 }, (_, j) => ({ k: `w${i}-${j}` }))
        }))
        const byRecords = yield* outcome(wide, budget(1_000, 12))
        assert.deepStrictEqual(byRecords.groups, [2, 2])
        assert.strictEqual(byRecords.rows.length, 20)
        assert.isTrue(byRecords.jobs.every((job) => job.state === "completed"))
      })
    )
  })
})
