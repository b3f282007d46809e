/**
 * The backlog estimate of admission (`services/Admission.ts`) counts each accepted job once, whatever the order of its
 * commit, its note and the backlog read (the Admission test once saw 24,000 records against a true 21,000: jobs
 * committed before a read and noted after it began were counted in the read and again as notes).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { AcceptedSinceRead } from "../../src/services/Admission.js"

/** A job: its records, when its commit ran, and how long after it the request noted it. */
const job = fc.record({
  records: fc.integer({ min: 1, max: 10_000 }),
  commit: fc.double({ min: 0, max: 100, noNaN: true }),
  noteAfter: fc.double({ min: 0, max: 100, noNaN: true })
})

/** A read: it begins, sees the commits up to its snapshot, and ends. */
const read = fc
  .tuple(
    fc.double({ min: 0, max: 100, noNaN: true }),
    fc.double({ min: 0, max: 50, noNaN: true }),
    fc.double({ min: 0, max: 50, noNaN: true })
  )
  .map(([begin, toSnapshot, toEnd]) => ({ begin, snapshot: begin + toSnapshot, end: begin + toSnapshot + toEnd }))

describe("AcceptedSinceRead", () => {
  it("the read plus the notes since count every job once", () => {
    fc.assert(
      fc.property(fc.array(job, { maxLength: 30 }), read, (jobs, { begin, end, snapshot }) => {
        const since = new AcceptedSinceRead()
        const events: Array<readonly [at: number, run: () => void]> = []
        let stored = 0
        let notedBefore: ReadonlyArray<string> = []
        let seen = new Set<string>()
        jobs.forEach((times, i) => {
          events.push([times.commit + times.noteAfter, () => since.note("w", `job-${i}`, times.records)])
        })
        events.push([begin, () => (notedBefore = since.noted())])
        events.push([
          snapshot,
          () => {
            seen = new Set(jobs.flatMap((times, i) => (times.commit <= snapshot ? [`job-${i}`] : [])))
            stored = jobs.reduce((sum, times) => (times.commit <= snapshot ? sum + times.records : sum), 0)
          }
        ])
        events.push([end, () => since.read(notedBefore, seen)])
        for (const [, run] of events.sort(([a], [b]) => a - b)) run()

        const total = jobs.reduce((sum, times) => sum + times.records, 0)
        assert.strictEqual(stored + since.records("w"), total)
      }),
      { numRuns: 2_000 }
    )
  })
})
