/**
 * A row's ratios are the medians of its rounds' own ratios (each round's service, baseline and ceiling measured
 * moments apart), so one disturbed round moves neither the ratio nor the reported measurements.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { combineRounds, median, type Round } from "../src/Rounds.js"
import type { MeasuredRow } from "../src/ServiceRow.js"

const roundOf = (committed: number, database: number | undefined, sync: number | undefined): Round => ({
  row: {
    backend: "sqlite",
    operation: "append-batch",
    batchSize: 100,
    requests: 10,
    requestsPerSec: committed / 100,
    acceptedRecordsPerSec: committed,
    committedRecordsPerSec: committed,
    latencyMs: { p50: 1, p90: 2, p99: 3, max: 4 },
    jobLatencyMs: null,
    jobsSampled: 0,
    queueDepth: null,
    non2xx: 0,
    errors: 0,
    errorDetails: [],
    serverPeakRssMb: null,
    httpCeilingRecordsPerSec: null
  } satisfies MeasuredRow,
  sync:
    sync === undefined ? undefined : { recordsPerSec: sync, requestsPerSec: sync / 100, latencyP99Ms: 1, errors: 0 },
  database:
    database === undefined
      ? undefined
      : {
          backend: "sqlite",
          operation: "append-batch",
          batchSize: 100,
          records: 1_000,
          concurrency: 1,
          recordsPerSec: database,
          method: "insert",
          measurements: { insert: [database] }
        }
})

describe("rounds", () => {
  it("the median of an odd count is its middle value, of an even count the mean of the middle two", () => {
    assert.strictEqual(median([3, 1, 2]), 2)
    assert.strictEqual(median([4, 1, 3, 2]), 2.5)
    assert.isNull(median([]))
  })

  it("a row's ratio is the median of its rounds' ratios, and its figures are the median round's", () => {
    const rate = fc.integer({ min: 1, max: 1_000_000 })
    fc.assert(
      fc.property(fc.array(fc.tuple(rate, rate, rate), { minLength: 1, maxLength: 7 }), (figures) => {
        const row = combineRounds(
          figures.map(([committed, database, sync]) => roundOf(committed, database, sync)),
          undefined
        )
        assert.strictEqual(row.fractionOfDatabaseCeiling, median(figures.map(([c, d]) => c / d)))
        assert.strictEqual(row.fractionOfSyncBaseline, median(figures.map(([c, , s]) => c / s)))
        const committed = figures.map(([c]) => c).sort((a, b) => a - b)
        assert.strictEqual(row.committedRecordsPerSec, committed[Math.floor((committed.length - 1) / 2)])
        assert.strictEqual(row.rounds.length, figures.length)
      })
    )
  })

  it("a round without a baseline (its jobs timed out, or the single-record row) has no ratio", () => {
    const row = combineRounds([roundOf(1_000, undefined, undefined)], 2_000)
    assert.isNull(row.fractionOfDatabaseCeiling)
    assert.isNull(row.fractionOfSyncBaseline)
    assert.strictEqual(row.fractionOfStorageCeiling, 0.5)
  })
})
