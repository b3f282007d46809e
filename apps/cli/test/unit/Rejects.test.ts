/**
 * The rejected rows of `append`/`upsert` kept for the summary (no `--dead-letter` file): whatever order the runs of
 * the input settle in, they are the first ten rejected rows of the input, in input order.
 */
import type { RunSettled, WriteSummary } from "@batchwrite/client"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Rejects } from "../../src/write/Rejects.js"

/** A settled run of `count` records from `firstIndex`, the records at `rejected` dead-lettered. */
const settledRun = (firstIndex: number, count: number, rejected: ReadonlySet<number>): RunSettled<unknown> => {
  const deadLetters: WriteSummary<unknown>["deadLetters"] = Array.from({ length: count }, (_, i) => firstIndex + i)
    .filter((index) => rejected.has(index))
    .map((index) => ({
      record: { n: index },
      inputIndex: index,
      objectName: "events",
      code: "C",
      message: `#${index}`
    }))
  return {
    _tag: "Settled",
    firstIndex,
    count,
    batch: { firstIndex, count },
    jobId: undefined,
    outcome: {
      batches: 0,
      accepted: 0,
      inserted: 0,
      updated: 0,
      stale: 0,
      invalid: 0,
      deadLettered: deadLetters.length,
      invalidRows: [],
      deadLetters,
      jobIds: [],
      unconfirmedJobs: []
    }
  }
}

/** Run lengths covering the input, the rejected indexes, and a settling order of the runs. */
const input = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }).chain((lengths) => {
  const total = lengths.reduce((sum, n) => sum + n, 0)
  return fc.record({
    lengths: fc.constant(lengths),
    rejected: fc.uniqueArray(fc.integer({ min: 0, max: total - 1 }), { maxLength: total }),
    order: fc.shuffledSubarray(
      lengths.map((_, i) => i),
      { minLength: lengths.length }
    )
  })
})

describe("Rejects", () => {
  it("keeps the first ten rejected rows of the input, in input order, whatever order the runs settle in", () =>
    fc.assert(
      fc.property(input, ({ lengths, order, rejected }) => {
        const starts = lengths.map((_, i) => lengths.slice(0, i).reduce((sum, n) => sum + n, 0))
        const rejectedSet = new Set(rejected)
        const rejects = new Rejects("events", undefined, undefined)
        for (const run of order) rejects.add(settledRun(starts[run]!, lengths[run]!, rejectedSet), 0)
        const firstTen = [...rejected].sort((a, b) => a - b).slice(0, 10)
        assert.deepStrictEqual(
          rejects.sample.map((row) => row.inputIndex),
          firstTen
        )
        assert.deepStrictEqual(
          rejects.sample.map((row) => row.message),
          firstTen.map((index) => `#${index}`)
        )
      })
    ))
})
