/**
 * The plan of a deployment benchmark: every flag value checked (the message names the flag and the bad value), the
 * rows and cells in the order they run; the upsert batches' half updates; the recommendation's choice.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { type BenchPlan, clientCellsOf, defaults, makePlan, type PlanFlags, rowsOf } from "../src/BenchPlan.js"
import { batchRecords, benchRecord } from "../src/BenchRecords.js"
import { recommend } from "../src/BenchReport.js"
import type { ServerRow } from "../src/BenchResults.js"

const flags: PlanFlags = {
  url: "http://127.0.0.1:8787/public/v1",
  object: undefined,
  matchKey: undefined,
  operations: undefined,
  sizes: defaults.sizes,
  connections: defaults.connections,
  duration: defaults.duration,
  records: defaults.records,
  jobTimeout: defaults.jobTimeout,
  p99Budget: defaults.p99Budget,
  clientSizes: defaults.clientSizes,
  clientConcurrency: defaults.clientConcurrency,
  maxAge: defaults.maxAge,
  noClientSweep: false,
  out: defaults.out,
  dryRun: false,
  now: new Date("2026-11-25T12:30:05.123Z")
}

const planOf = (changes: Partial<PlanFlags>): BenchPlan => Either.getOrThrow(makePlan({ ...flags, ...changes }))

const errorOf = (changes: Partial<PlanFlags>): string => {
  const plan = makePlan({ ...flags, ...changes })
  assert.isTrue(Either.isLeft(plan), JSON.stringify(changes))
  return Either.isLeft(plan) ? plan.left.message : ""
}

describe("makePlan", () => {
  it("the defaults: a new bench_<time> object, both operations, every size × connection count", () => {
    const plan = planOf({})
    assert.deepStrictEqual(plan.target, { _tag: "Create", objectName: "bench_20261125_123005" })
    assert.deepStrictEqual(plan.operations, ["append-batch", "upsert-batch"])
    assert.deepStrictEqual(plan.batchSizes, [100, 1_000, 2_000, 5_000, 10_000])
    assert.deepStrictEqual(plan.connections, [1, 4, 8])
    assert.strictEqual(rowsOf(plan).length, 2 * 5 * 3)
    assert.deepStrictEqual(rowsOf(plan)[0], { operation: "append-batch", batchSize: 100, connections: 1 })
    // write: 3 × 2 per operation; RecordBuffer: 3 × 2 for append, 3 × 1 for upsert (it flushes one group at a time).
    assert.strictEqual(clientCellsOf(plan).length, 6 + 6 + 6 + 3)
  })

  it("--object appends into it; --object --match-key upserts by the key; lists are sorted and deduplicated", () => {
    assert.deepStrictEqual(planOf({ object: "orders" }).operations, ["append-batch"])
    const upsert = planOf({ object: "orders", matchKey: "ref", sizes: "500, 20,500", maxAge: "0.25,2" })
    assert.deepStrictEqual(upsert.target, { _tag: "Existing", objectName: "orders", matchKey: "ref" })
    assert.deepStrictEqual(upsert.operations, ["upsert-batch"])
    assert.deepStrictEqual(upsert.batchSizes, [20, 500])
    assert.deepStrictEqual(upsert.client?.maxAgeMs, [250, 2_000])
    assert.isUndefined(planOf({ noClientSweep: true }).client)
  })

  it("every bad value and every pair of flags that do not go together is an error naming the flag", () => {
    const cases: ReadonlyArray<readonly [Partial<PlanFlags>, RegExp]> = [
      [{ url: "ftp://x" }, /--url must be an http\(s\) URL/],
      [{ url: "not a url" }, /--url must be an http\(s\) URL/],
      [{ sizes: "0,100" }, /--sizes takes batch sizes from 1 to 10000.*got '0'/],
      [{ sizes: "100,abc" }, /--sizes .*got 'abc'/],
      [{ sizes: "100," }, /--sizes .*got ''/],
      [{ sizes: "20000" }, /--sizes takes batch sizes from 1 to 10000/],
      [{ sizes: "1.5" }, /--sizes/],
      [{ connections: "4,x" }, /--connections takes whole numbers 1 to 256/],
      [{ connections: "0" }, /--connections/],
      [{ connections: "257" }, /--connections/],
      [{ duration: -1 }, /--duration must be a number above 0/],
      [{ duration: 0 }, /--duration/],
      [{ duration: 4_000 }, /--duration .* at most 3600/],
      [{ records: 0 }, /--records must be a whole number/],
      [{ jobTimeout: 0 }, /--job-timeout/],
      [{ p99Budget: 0 }, /--p99-budget must be a number above 0/],
      [{ p99Budget: Number.NaN }, /--p99-budget/],
      [{ clientSizes: "0" }, /--client-sizes takes maxRecords values from 1 to 10000/],
      [{ clientConcurrency: "0" }, /--client-concurrency takes whole numbers 1 to 64/],
      [{ maxAge: "0" }, /--max-age takes seconds above 0/],
      [{ maxAge: "61" }, /--max-age/],
      [{ operations: "append" }, /--operations takes append-batch and\/or upsert-batch \(got 'append'\)/],
      [{ matchKey: "ref" }, /--match-key needs --object/],
      [{ object: "Orders" }, /--object must be an object name/],
      [{ object: "orders", matchKey: "1ref" }, /--match-key must be a field name/],
      [{ object: "orders", operations: "append-batch" }, /--operations applies to the object the run creates/],
      [{ out: " " }, /--out must name a directory/]
    ]
    for (const [changes, message] of cases) assert.match(errorOf(changes), message, JSON.stringify(changes))
  })
})

describe("batchRecords", () => {
  it("upserts: from the second batch on, every odd record updates a key that was new in the batch before", () => {
    const keys = (index: number) =>
      batchRecords(benchRecord, "t", "upsert-batch", 4, index).map((record) => record.key as string)
    assert.deepStrictEqual(keys(0), ["t-0", "t-1", "t-2", "t-3"])
    assert.deepStrictEqual(keys(1), ["t-4", "t-0", "t-6", "t-2"])
    assert.deepStrictEqual(keys(2), ["t-8", "t-4", "t-10", "t-6"])
    assert.deepStrictEqual(
      batchRecords(benchRecord, "t", "append-batch", 2, 3).map((record) => record.key),
      ["t-6", "t-7"]
    )
  })
})

describe("recommend", () => {
  const row = (batchSize: number, connections: number, committed: number, p99: number, errors = 0): ServerRow => ({
    operation: "append-batch",
    batchSize,
    connections,
    requests: 10,
    requestsPerSec: 1,
    recordsAccepted: 10 * batchSize,
    acceptedRecordsPerSec: committed,
    recordsCommitted: 10 * batchSize,
    committedRecordsPerSec: committed,
    inserted: 10 * batchSize,
    updated: 0,
    invalid: 0,
    latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99 },
    jobLatencyMs: { p50: 1, p99: 2 },
    statuses: { "202": 10 },
    rateLimited: 0,
    retryAfterWaitMs: 0,
    errors,
    errorDetails: [],
    loadSec: 1
  })

  it("the most committed records/s among the rows within the budget and without errors", () => {
    const rows = [
      row(100, 1, 10_000, 20),
      row(2_000, 4, 118_000, 142),
      row(5_000, 8, 150_000, 400),
      row(1_000, 8, 200_000, 50, 1)
    ]
    const [recommendation] = recommend(rows, ["append-batch", "upsert-batch"], 200)
    assert.strictEqual(
      recommendation!.line,
      "append: use batches of 2,000 with 4 connections: 118,000 records/s committed, accept p99 142 ms (budget 200 ms)"
    )
    const [, none] = recommend(rows, ["append-batch", "upsert-batch"], 200)
    assert.strictEqual(none!.batchSize, null)
    assert.match(
      recommend(rows, ["append-batch"], 10)[0]!.line,
      /^append: no batch size and connection count kept accept p99 within 10 ms without errors \(lowest p99: 20 ms, batches of 100 with 1 connection\)$/
    )
  })
})
