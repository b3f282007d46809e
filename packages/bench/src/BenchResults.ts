/**
 * The shape of a deployment benchmark's `results.json`: the plan, one row per operation × batch size × connections,
 * one cell per client setting, the recommendations for the p99 budget, and how many records the run wrote where.
 */
import type { BatchOperation } from "./BenchPlan.js"

/** Percentiles in milliseconds; `null` when nothing was measured. */
export interface Percentiles {
  readonly p50: number | null
  readonly p90: number | null
  readonly p99: number | null
  readonly max: number | null
}

/** One row of the server sweep. */
export interface ServerRow {
  readonly operation: BatchOperation
  readonly batchSize: number
  readonly connections: number
  /** Batches accepted (`2xx`). */
  readonly requests: number
  readonly requestsPerSec: number
  readonly recordsAccepted: number
  readonly acceptedRecordsPerSec: number
  /** Inserted + updated, from the jobs. */
  readonly recordsCommitted: number
  /** Committed records over the time from the first request until the last job completed. */
  readonly committedRecordsPerSec: number
  readonly inserted: number
  readonly updated: number
  /** Rows the jobs rejected. */
  readonly invalid: number
  /** Accept latency: request sent → `202` received. */
  readonly latencyMs: Percentiles
  /** Accept → completed, from each job's `createdAt` and `completedAt`. */
  readonly jobLatencyMs: { readonly p50: number | null; readonly p99: number | null }
  /** Answers of the batch requests by status (`"202"`, `"429"`, …). */
  readonly statuses: Readonly<Record<string, number>>
  /** `429` answers to batches and job reads: counted, honoured (the run waited their `Retry-After`), not errors. */
  readonly rateLimited: number
  /** Time the run spent waiting for `Retry-After` during the row. */
  readonly retryAfterWaitMs: number
  /** Error answers (not 429), requests with no answer, failed jobs, invalid rows, accepted records not committed. */
  readonly errors: number
  readonly errorDetails: ReadonlyArray<string>
  /** How long the row sent. */
  readonly loadSec: number
}

/** One cell of the client sweep. */
export interface ClientCell {
  readonly tool: "write" | "RecordBuffer"
  readonly operation: BatchOperation
  readonly maxRecords: number
  readonly concurrency: number
  /** The buffer's `maxAge`; `null` for `write`. */
  readonly maxAgeMs: number | null
  /** Records handed to the tool. */
  readonly records: number
  /** Records committed (write: inserted + updated; RecordBuffer: delivered). */
  readonly delivered: number
  /** From the first record handed over until every job was done (write) or the buffer closed. */
  readonly seconds: number
  /** End to end: delivered over `seconds`. */
  readonly recordsPerSec: number
  /** Accept latency of the tool's batch requests. */
  readonly acceptLatencyMs: Percentiles
  readonly batchRequests: number
  readonly rateLimited: number
  readonly errors: number
  readonly errorDetails: ReadonlyArray<string>
}

/** The recommended batch size and connections for one operation. */
export interface Recommendation {
  readonly operation: BatchOperation
  readonly p99BudgetMs: number
  /** `null` when no row met the budget without errors. */
  readonly batchSize: number | null
  readonly connections: number | null
  readonly committedRecordsPerSec: number | null
  readonly latencyP99Ms: number | null
  /** The line printed. */
  readonly line: string
}

/** The recommended client settings for one tool and operation. */
export interface ClientRecommendation {
  readonly tool: "write" | "RecordBuffer"
  readonly operation: BatchOperation
  readonly p99BudgetMs: number
  readonly maxRecords: number | null
  readonly concurrency: number | null
  readonly maxAgeMs: number | null
  readonly recordsPerSec: number | null
  readonly latencyP99Ms: number | null
  readonly line: string
}

/** What the run wrote. */
export interface Written {
  readonly objectName: string
  /** Whether the run created the object. */
  readonly created: boolean
  /** Records the service accepted from the run. */
  readonly accepted: number
  readonly inserted: number
  readonly updated: number
  readonly invalid: number
  readonly line: string
}

/** Everything a run produced. */
export interface BenchResults {
  readonly generatedAt: string
  readonly url: string
  readonly durationSec: number
  readonly plan: {
    readonly objectName: string
    readonly createObject: boolean
    readonly matchKey: string | null
    readonly operations: ReadonlyArray<BatchOperation>
    readonly batchSizes: ReadonlyArray<number>
    readonly connections: ReadonlyArray<number>
    readonly durationSec: number
    readonly recordsPerRow: number
    readonly jobTimeoutSec: number
    readonly p99BudgetMs: number
    readonly client: {
      readonly maxRecords: ReadonlyArray<number>
      readonly concurrency: ReadonlyArray<number>
      readonly maxAgeMs: ReadonlyArray<number>
    } | null
  }
  readonly rows: ReadonlyArray<ServerRow>
  readonly clientSweep: ReadonlyArray<ClientCell>
  readonly recommendations: ReadonlyArray<Recommendation>
  readonly clientRecommendations: ReadonlyArray<ClientRecommendation>
  readonly written: Written
  readonly notes: ReadonlyArray<string>
}

/** The `p`-th percentile of sorted values (nearest rank); `null` for none. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number | null =>
  sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

/** p50, p90, p99 and max of latencies in milliseconds, rounded to 0.1 ms. */
export const percentilesOf = (values: ReadonlyArray<number>): Percentiles => {
  const sorted = [...values].sort((a, b) => a - b)
  const round = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10)
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length === 0 ? null : sorted[sorted.length - 1]!)
  }
}
