/**
 * What a run prints: the table of rows (on the terminal, or as Markdown for the README), the ceilings, the loud
 * warnings for rows with errors, the recommended batch size for a p99 budget, and the targets of issue 13.
 */
import type { Operation } from "./Bodies.js"
import type { HttpCeiling, Recommendation, Results, Row, StorageCeilingResult } from "./Results.js"

const count = (n: number | null | undefined) =>
  n === null || n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en")
const ms = (n: number | null | undefined) =>
  n === null || n === undefined || !Number.isFinite(n) ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toString()

const columns: ReadonlyArray<readonly [string, (row: Row) => string]> = [
  ["backend", (row) => row.backend],
  ["operation", (row) => row.operation],
  ["batch", (row) => count(row.batchSize)],
  ["req/s", (row) => count(row.requestsPerSec)],
  ["accepted rec/s", (row) => count(row.acceptedRecordsPerSec)],
  ["committed rec/s", (row) => count(row.committedRecordsPerSec)],
  ["DB ceiling rec/s", (row) => count(row.databaseCeilingRecordsPerSec)],
  ["× DB", (row) => row.fractionOfDatabaseCeiling?.toFixed(2) ?? "–"],
  ["sync rec/s", (row) => count(row.syncBaselineRecordsPerSec)],
  ["× sync", (row) => row.fractionOfSyncBaseline?.toFixed(2) ?? "–"],
  ["× storage code", (row) => row.fractionOfStorageCeiling?.toFixed(2) ?? "–"],
  ["p50 ms", (row) => ms(row.latencyMs.p50)],
  ["p90 ms", (row) => ms(row.latencyMs.p90)],
  ["p99 ms", (row) => ms(row.latencyMs.p99)],
  ["max ms", (row) => ms(row.latencyMs.max)],
  ["job p50 ms", (row) => ms(row.jobLatencyMs?.p50)],
  ["job p99 ms", (row) => ms(row.jobLatencyMs?.p99)],
  ["queue mean", (row) => (row.queueDepth === null ? "–" : count(row.queueDepth.mean))],
  ["queue max", (row) => (row.queueDepth === null ? "–" : count(row.queueDepth.max))],
  ["errors", (row) => (row.errors === 0 ? "0" : `${row.errors} !!`)],
  ["peak RSS MB", (row) => (row.serverPeakRssMb === null ? "–" : String(Math.round(row.serverPeakRssMb)))],
  ["HTTP ceiling rec/s", (row) => count(row.httpCeilingRecordsPerSec)]
]

/** The rows as an aligned text table (`terminal`) or a Markdown table. */
export const renderTable = (rows: ReadonlyArray<Row>, style: "terminal" | "markdown"): string => {
  const cells = rows.map((row) => columns.map(([, cell]) => cell(row)))
  if (style === "markdown") {
    const header = `| ${columns.map(([name]) => name).join(" | ")} |`
    const rule = `|${columns.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`
    return [header, rule, ...cells.map((line) => `| ${line.join(" | ")} |`)].join("\n")
  }
  const widths = columns.map(([name], i) => Math.max(name.length, ...cells.map((line) => line[i]!.length)))
  const format = (line: ReadonlyArray<string>) =>
    line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  return [format(columns.map(([name]) => name)), ...cells.map(format)].join("\n")
}

/** The ceilings as lines of text. */
export const renderCeilings = (
  storage: ReadonlyArray<StorageCeilingResult>,
  http: ReadonlyArray<HttpCeiling>
): ReadonlyArray<string> => [
  "database ceiling (DB ceiling, × DB): each row's records written straight into the database by the harness " +
    "(natural tables, multi-row INSERT / INSERT … ON CONFLICT DO UPDATE with field-level merge, one transaction per " +
    "batch; PostgreSQL appends the faster of INSERT … unnest and COPY; not batchwrite's code)",
  "synchronous baseline (sync, × sync): each row's bodies, same connections, through a plain node:http service " +
    "writing each request in one transaction (again after a clash on a unique key with a concurrent request) and " +
    "answering after the commit, same backend",
  ...storage.map(
    (ceiling) =>
      `service storage code ceiling (× storage code), ${ceiling.backend} ${ceiling.operation}: ` +
      `${count(ceiling.recordsPerSec)} records/s ` +
      `(best of 3 rounds of ${ceiling.batches / 3} batches of ${count(ceiling.batchSize)}, parse + RecordsRepo in one ` +
      `transaction each, no HTTP; ${count(ceiling.measuredAtStart)} at the start of the run, ` +
      `${count(ceiling.measuredAtEnd)} at the end${
        ceiling.byConnection.length > 1
          ? `; by connection: ${ceiling.byConnection
              .map((c) => `${c.connection} ${count(c.atStart)} / ${count(c.atEnd)}`)
              .join(", ")}`
          : ""
      })`
  ),
  ...(["append-batch", "upsert-batch"] as const).flatMap((operation) => {
    const ofOperation = http.filter((ceiling) => ceiling.operation === operation)
    if (ofOperation.length === 0) return []
    const best = ofOperation.reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a))
    return [
      `HTTP ceiling, ${operation}: up to ${count(best.recordsPerSec)} records/s at ${count(best.batchSize)} per batch ` +
        `(bare node:http server reading the same bodies; per batch size in the last column)`
    ]
  })
]

/**
 * For each backend and batch operation: the batch size with the most committed records/s among the rows whose
 * accept p99 is within the budget and that had no errors.
 */
export const recommend = (rows: ReadonlyArray<Row>, p99BudgetMs: number): ReadonlyArray<Recommendation> => {
  const keys = new Map<string, { backend: string; operation: Operation }>()
  for (const row of rows) {
    if (row.operation !== "single-record") keys.set(`${row.backend} ${row.operation}`, row)
  }
  return Array.from(keys.values(), ({ backend, operation }) => {
    const fits = rows.filter(
      (row) =>
        row.backend === backend && row.operation === operation && row.errors === 0 && row.latencyMs.p99 <= p99BudgetMs
    )
    const best = fits.reduce<Row | undefined>(
      (a, b) => (a === undefined || b.committedRecordsPerSec > a.committedRecordsPerSec ? b : a),
      undefined
    )
    return {
      backend,
      operation,
      p99BudgetMs,
      batchSize: best?.batchSize ?? null,
      committedRecordsPerSec: best?.committedRecordsPerSec ?? null,
      latencyP99Ms: best?.latencyMs.p99 ?? null
    }
  })
}

/** The recommendations as lines of text. */
export const renderRecommendations = (recommendations: ReadonlyArray<Recommendation>): ReadonlyArray<string> =>
  recommendations.map((r) =>
    r.batchSize === null
      ? `${r.backend} ${r.operation}: no batch size kept accept p99 within ${r.p99BudgetMs} ms without errors`
      : `${r.backend} ${r.operation}: recommended batch size ${count(r.batchSize)} for a p99 budget of ` +
        `${r.p99BudgetMs} ms (${count(r.committedRecordsPerSec)} records/s committed, accept p99 ${ms(r.latencyP99Ms)} ms)`
  )

/** Rows with errors, loudly. */
export const renderErrors = (results: Results): ReadonlyArray<string> =>
  results.rows
    .filter((row) => row.errors > 0)
    .map(
      (row) =>
        `!!! ERRORS in ${row.backend} ${row.operation} × ${row.batchSize}: ${row.errors} — ${row.errorDetails.join("; ")}`
    )

/** Whether a target of issue 13 holds for one row, as a line. */
const targetLine = (row: Row, what: string, value: number | null, bound: number, alsoNeeded = true): string =>
  `target ${row.backend} ${row.operation} × ${count(row.batchSize)}: ${what} ≥ ${bound.toFixed(1)}: ` +
  `${value === null ? "–" : value.toFixed(2)} ${value !== null && value >= bound && alsoNeeded ? "met" : "NOT met"}`

/**
 * What the synchronous baseline itself commits, as a share of the database ceiling (of the row's medians): what a
 * plain HTTP → database service reaches on this machine, beside the × DB target.
 */
const baselineShareOfDatabase = (row: Row): string =>
  row.syncBaselineRecordsPerSec === null || !row.databaseCeilingRecordsPerSec
    ? ""
    : ` (the synchronous baseline: ${(row.syncBaselineRecordsPerSec / row.databaseCeilingRecordsPerSec).toFixed(2)} × DB)`

/**
 * The targets of issue 13 on the rows of this run: committed ≥ 0.6 × the database ceiling at 1,000 and 10,000 per
 * batch; at 10 and 100 per batch, committed ≥ 1.0 × the synchronous baseline with job latency p99 under 1 s.
 */
export const renderTargets = (rows: ReadonlyArray<Row>): ReadonlyArray<string> =>
  rows.flatMap((row) => {
    if (row.operation === "single-record") return []
    if (row.batchSize === 1_000 || row.batchSize === 10_000) {
      return [`${targetLine(row, "× DB ceiling", row.fractionOfDatabaseCeiling, 0.6)}${baselineShareOfDatabase(row)}`]
    }
    if (row.batchSize === 10 || row.batchSize === 100) {
      const p99 = row.jobLatencyMs?.p99
      const fast = p99 !== undefined && p99 < 1_000
      return [
        `${targetLine(row, "× sync", row.fractionOfSyncBaseline, 1.0, fast)} (job p99 ${ms(p99)} ms, must be < 1,000)`
      ]
    }
    return []
  })
