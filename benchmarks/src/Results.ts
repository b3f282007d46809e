/**
 * The shape of `results/latest.json`: one object per row (backend × operation × batch size), the ceilings of the
 * same run, the recommended batch sizes, the machine and the settings.
 */
import type { Operation } from "./Bodies.js"
import type { Connection } from "./Backends.js"
import type { DatabaseCeiling } from "./DatabaseCeiling.js"
import type { JobLatency, QueueDepth } from "./JobTracking.js"
import type { RoundFigures } from "./Rounds.js"
import type { StorageCeiling } from "./StorageCeiling.js"
import type { SyncBaselineRow } from "./SyncBaseline.js"

/** One measured row. */
export interface Row {
  readonly backend: string
  readonly operation: Operation
  readonly batchSize: number
  readonly requests: number
  readonly requestsPerSec: number
  readonly acceptedRecordsPerSec: number
  /** Records committed over the wall time from the first request until every job was terminal. */
  readonly committedRecordsPerSec: number
  /**
   * Committed records/s over the database ceiling of the same records: the row's records written straight into
   * the database by the harness (`DatabaseCeiling.ts`); `null` for the single-record row.
   */
  readonly fractionOfDatabaseCeiling: number | null
  /** The database ceiling of the row's records, records/s. */
  readonly databaseCeilingRecordsPerSec: number | null
  /**
   * Committed records/s over the synchronous baseline of the same bodies and connections (a plain HTTP service
   * writing each request in one transaction and answering after the commit); `null` for the single-record row.
   */
  readonly fractionOfSyncBaseline: number | null
  /** The synchronous baseline of the row's bodies, records/s. */
  readonly syncBaselineRecordsPerSec: number | null
  /**
   * Committed records/s over the service's own storage code's ceiling (`RecordsRepo`, batches of 10,000) of the
   * same operation (the single-record row uses append's); `null` when that ceiling was not measured.
   */
  readonly fractionOfStorageCeiling: number | null
  /** Accept latency: from sending the request to its answer (`202`, or `201` for the single-record endpoint). */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
  /** From the job's `createdAt` to its `completedAt`; `null` for the synchronous single-record endpoint. */
  readonly jobLatencyMs: JobLatency | null
  readonly jobsSampled: number
  /** Queued jobs over the row (polled every 50 ms); `null` for the single-record endpoint. */
  readonly queueDepth: QueueDepth | null
  /** Non-2xx answers. */
  readonly non2xx: number
  /** Every kind of error: non-2xx answers, connection errors and timeouts, failed jobs, invalid records. */
  readonly errors: number
  /** What went wrong, when `errors` is not 0. */
  readonly errorDetails: ReadonlyArray<string>
  /** The largest resident set size of the service process during the row. */
  readonly serverPeakRssMb: number | null
  /** The same bodies posted to the bare `node:http` server: records/s it read. */
  readonly httpCeilingRecordsPerSec: number | null
  /** Each round's figures (`--rounds`): the ratios above are the medians of theirs. */
  readonly rounds?: ReadonlyArray<RoundFigures>
}

/**
 * The storage ceiling of one operation: the best of its measurements at the start and at the end of the run, over
 * the connections of the backend (`connection` says which one gave it).
 */
export interface StorageCeilingResult extends StorageCeiling {
  /** The best over the connections at the start of the run. */
  readonly measuredAtStart: number
  /** The best over the connections at the end of the run. */
  readonly measuredAtEnd: number
  /** Each connection's measurements, records/s. */
  readonly byConnection: ReadonlyArray<{
    readonly connection: Connection
    readonly atStart: number
    readonly atEnd: number
  }>
}

/** The HTTP ceiling of one operation and batch size. */
export interface HttpCeiling {
  readonly operation: Operation
  readonly batchSize: number
  readonly requestsPerSec: number
  readonly recordsPerSec: number
  readonly latencyP99Ms: number
}

/** The batch size recommended for a p99 budget. */
export interface Recommendation {
  readonly backend: string
  readonly operation: Operation
  readonly p99BudgetMs: number
  /** `null` when no batch size met the budget without errors. */
  readonly batchSize: number | null
  readonly committedRecordsPerSec: number | null
  readonly latencyP99Ms: number | null
}

/** Everything a run produced. */
export interface Results {
  readonly generatedAt: string
  readonly mode: "quick" | "full" | "custom"
  readonly durationSec: number
  readonly machine: Record<string, unknown>
  readonly settings: Record<string, unknown>
  readonly ceilings: {
    /** Per row: the row's records written straight into the database (the ratios and targets use it). */
    readonly database: ReadonlyArray<DatabaseCeiling>
    /** Per row: the row's bodies through a plain synchronous HTTP → database service. */
    readonly syncBaseline: ReadonlyArray<SyncBaselineRow & { backend: string; operation: Operation; batchSize: number }>
    /** The service's own storage code (`RecordsRepo`), batches of 10,000. */
    readonly storage: ReadonlyArray<StorageCeilingResult>
    readonly http: ReadonlyArray<HttpCeiling>
  }
  readonly rows: ReadonlyArray<Row>
  readonly recommendations: ReadonlyArray<Recommendation>
  readonly notes: ReadonlyArray<string>
}
