/**
 * The summary of `append`/`upsert` (issue 17): its counts agree with what went to the dead-letter file, and a resumed
 * run does not promise "… and N more" for rows an interrupted run rejected (it cannot list them).
 */
import { assert, describe, it } from "@effect/vitest"
import { humanSummary, type WriteReport } from "../../src/write/Summary.js"
import { noTotals } from "../../src/write/Totals.js"

const report = (overrides: Partial<WriteReport>): WriteReport => ({
  objectName: "events",
  mode: "append",
  matchKey: undefined,
  totals: { ...noTotals, batches: 1, accepted: 5, inserted: 3, invalid: 1, deadLettered: 1 },
  sentThisRun: 5,
  seconds: 1,
  resumedAt: 0,
  rejectedBefore: 0,
  waited: true,
  jobIds: [],
  deadLetterFile: undefined,
  sample: [],
  ...overrides
})

describe("humanSummary", () => {
  it("dead-lettered counts the rows written to the file, as the line naming the file does", () => {
    const text = humanSummary(report({ deadLetterFile: "rejects.ndjson" }))
    assert.include(text, "invalid 1 · not sent 1 · dead-lettered 2 · 1 job")
    assert.include(text, "2 rejected rows written to rejects.ndjson")
    assert.include(humanSummary(report({})), "not sent 1 · dead-lettered 0")
  })

  it("after --resume, rows rejected before the interruption are said so, not '… and N more'", () => {
    const sample = [{ inputIndex: 4, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: "line 5: bad" }]
    const text = humanSummary(report({ resumedAt: 3, rejectedBefore: 1, sample }))
    assert.include(text, "  line 5: bad (CDP_ETL.VALIDATION.REQUEST_INVALID)")
    assert.notInclude(text, "… and")
    assert.include(text, "1 row rejected before the interruption, not listed here")
    const more = humanSummary(report({ totals: { ...noTotals, invalid: 4 }, sample, rejectedBefore: 1 }))
    assert.include(more, "… and 2 more")
  })
})
