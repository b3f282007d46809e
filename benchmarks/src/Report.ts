/**
 * What a run prints: the table of rows (on the terminal, or as Markdown for the README), the ceilings, the loud
 * warnings for rows with errors, and the recommended batch size for a p99 budget.
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
  ["× storage", (row) => row.fractionOfStorageCeiling?.toFixed(2) ?? "–"],
  ["p50 ms", (row) => ms(row.latencyMs.p50)],
  ["p90 ms", (row) => ms(row.latencyMs.p90)],
  ["p99 ms", (row) => ms(row.latencyMs.p99)],
  ["max ms", (row) => ms(row.latencyMs.max)],
  ["job p50 ms", (row) => ms(row.jobLatencyMs?.p50)],
  ["job p99 ms", (row) => ms(row.jobLatencyMs?.p99)],
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
  ...storage.map(
    (ceiling) =>
      `storage ceiling, ${ceiling.backend} ${ceiling.operation}: ${count(ceiling.recordsPerSec)} records/s ` +
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
