/**
 * What a deployment benchmark prints: the plan (for `--dry-run` and at the start), the table of the server sweep and
 * of the client sweep, and one recommendation line per operation (and per client tool) for the p99 budget: the
 * setting with the most records/s among those whose accept p99 is within the budget and that had no errors.
 */
import type { BenchPlan } from "./BenchPlan.js"
import { clientCellsOf, rowsOf } from "./BenchPlan.js"
import type { ClientCell, ClientRecommendation, Recommendation, ServerRow } from "./BenchResults.js"

/** A count with thousands separators; `–` for none. */
export const count = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en")

/** Milliseconds, one decimal below 10; `–` for none. */
export const ms = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toString()

const short = (operation: string) => operation.replace("-batch", "")

/** An aligned text table: the first `left` columns left-aligned, the others right-aligned. */
const table = (header: ReadonlyArray<string>, lines: ReadonlyArray<ReadonlyArray<string>>, left: number): string => {
  const widths = header.map((name, i) => Math.max(name.length, ...lines.map((line) => line[i]!.length)))
  const format = (line: ReadonlyArray<string>) =>
    line.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  return [format(header), ...lines.map(format)].join("\n")
}

/** The server sweep as a table. */
export const renderRows = (rows: ReadonlyArray<ServerRow>): string =>
  table(
    [
      "operation",
      "batch",
      "conns",
      "req/s",
      "accepted rec/s",
      "committed rec/s",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "max ms",
      "job p50 ms",
      "job p99 ms",
      "429s",
      "errors"
    ],
    rows.map((row) => [
      row.operation,
      count(row.batchSize),
      String(row.connections),
      count(row.requestsPerSec),
      count(row.acceptedRecordsPerSec),
      count(row.committedRecordsPerSec),
      ms(row.latencyMs.p50),
      ms(row.latencyMs.p90),
      ms(row.latencyMs.p99),
      ms(row.latencyMs.max),
      ms(row.jobLatencyMs.p50),
      ms(row.jobLatencyMs.p99),
      count(row.rateLimited),
      row.errors === 0 ? "0" : `${row.errors} !!`
    ]),
    1
  )

/** The client sweep as a table. */
export const renderCells = (cells: ReadonlyArray<ClientCell>): string =>
  table(
    [
      "tool",
      "operation",
      "maxRecords",
      "concurrency",
      "maxAge ms",
      "records",
      "rec/s end to end",
      "accept p50 ms",
      "accept p99 ms",
      "429s",
      "errors"
    ],
    cells.map((cell) => [
      cell.tool,
      cell.operation,
      count(cell.maxRecords),
      String(cell.concurrency),
      cell.maxAgeMs === null ? "–" : count(cell.maxAgeMs),
      count(cell.delivered),
      count(cell.recordsPerSec),
      ms(cell.acceptLatencyMs.p50),
      ms(cell.acceptLatencyMs.p99),
      count(cell.rateLimited),
      cell.errors === 0 ? "0" : `${cell.errors} !!`
    ]),
    2
  )

const within = (p99: number | null, budget: number) => p99 !== null && p99 <= budget

/** For each operation: the batch size and connections with the most committed records/s within the budget. */
export const recommend = (
  rows: ReadonlyArray<ServerRow>,
  operations: ReadonlyArray<ServerRow["operation"]>,
  p99BudgetMs: number
): ReadonlyArray<Recommendation> =>
  operations.map((operation) => {
    const ofOperation = rows.filter((row) => row.operation === operation)
    const best = ofOperation
      .filter((row) => row.errors === 0 && row.recordsCommitted > 0 && within(row.latencyMs.p99, p99BudgetMs))
      .reduce<ServerRow | undefined>(
        (a, b) => (a === undefined || b.committedRecordsPerSec > a.committedRecordsPerSec ? b : a),
        undefined
      )
    if (best === undefined) {
      const lowest = ofOperation
        .filter((row) => row.latencyMs.p99 !== null)
        .reduce<ServerRow | undefined>(
          (a, b) => (a === undefined || b.latencyMs.p99! < a.latencyMs.p99! ? b : a),
          undefined
        )
      return {
        operation,
        p99BudgetMs,
        batchSize: null,
        connections: null,
        committedRecordsPerSec: null,
        latencyP99Ms: null,
        line:
          `${short(operation)}: no batch size and connection count kept accept p99 within ${p99BudgetMs} ms without errors` +
          (lowest === undefined
            ? ""
            : ` (lowest p99: ${ms(lowest.latencyMs.p99)} ms, batches of ${count(lowest.batchSize)} with ${lowest.connections} connection${lowest.connections === 1 ? "" : "s"})`)
      }
    }
    return {
      operation,
      p99BudgetMs,
      batchSize: best.batchSize,
      connections: best.connections,
      committedRecordsPerSec: Math.round(best.committedRecordsPerSec),
      latencyP99Ms: best.latencyMs.p99,
      line:
        `${short(operation)}: use batches of ${count(best.batchSize)} with ${best.connections} connection${best.connections === 1 ? "" : "s"}: ` +
        `${count(best.committedRecordsPerSec)} records/s committed, accept p99 ${ms(best.latencyMs.p99)} ms (budget ${p99BudgetMs} ms)` +
        (best.rateLimited > 0 ? `; ${count(best.rateLimited)} answers were 429 (the token's rate limit bounds it)` : "")
    }
  })

/** For each client tool and operation: the settings with the most records/s end to end within the budget. */
export const recommendClient = (
  cells: ReadonlyArray<ClientCell>,
  p99BudgetMs: number
): ReadonlyArray<ClientRecommendation> => {
  const keys = Array.from(new Set(cells.map((cell) => `${cell.tool} ${cell.operation}`)))
  return keys.map((key) => {
    const ofKey = cells.filter((cell) => `${cell.tool} ${cell.operation}` === key)
    const { tool, operation } = ofKey[0]!
    const best = ofKey
      .filter((cell) => cell.errors === 0 && cell.delivered > 0 && within(cell.acceptLatencyMs.p99, p99BudgetMs))
      .reduce<ClientCell | undefined>(
        (a, b) => (a === undefined || b.recordsPerSec > a.recordsPerSec ? b : a),
        undefined
      )
    const name = tool === "write" ? "client write" : "client RecordBuffer"
    if (best === undefined) {
      return {
        tool,
        operation,
        p99BudgetMs,
        maxRecords: null,
        concurrency: null,
        maxAgeMs: null,
        recordsPerSec: null,
        latencyP99Ms: null,
        line: `${name} (${short(operation)}): no setting kept accept p99 within ${p99BudgetMs} ms without errors`
      }
    }
    const settings = [
      `maxRecords ${count(best.maxRecords)}`,
      `concurrency ${best.concurrency}`,
      ...(best.maxAgeMs === null ? [] : [`maxAge ${count(best.maxAgeMs)} ms`])
    ].join(", ")
    return {
      tool,
      operation,
      p99BudgetMs,
      maxRecords: best.maxRecords,
      concurrency: best.concurrency,
      maxAgeMs: best.maxAgeMs,
      recordsPerSec: Math.round(best.recordsPerSec),
      latencyP99Ms: best.acceptLatencyMs.p99,
      line:
        `${name} (${short(operation)}): use ${settings}: ${count(best.recordsPerSec)} records/s end to end, ` +
        `accept p99 ${ms(best.acceptLatencyMs.p99)} ms (budget ${p99BudgetMs} ms)`
    }
  })
}

/** The plan in words: what `--dry-run` prints, and the first lines of a run. */
export const describePlan = (plan: BenchPlan): ReadonlyArray<string> => {
  const rows = rowsOf(plan)
  const cells = clientCellsOf(plan)
  const target =
    plan.target._tag === "Create"
      ? `a new object ${plan.target.objectName} (created by the run: needs the admin scope), both operations writing into it`
      : plan.target.matchKey === undefined
        ? `the existing object ${plan.target.objectName}, appending`
        : `the existing object ${plan.target.objectName}, upserting by ${plan.target.matchKey}`
  const rowSec = plan.durationMs / 1000
  return [
    `benchmark of ${plan.url}`,
    `writes into ${target}`,
    `server sweep: ${rows.length} rows = ${plan.operations.join(", ")} × batch sizes ${plan.batchSizes.map(count).join(", ")} × connections ${plan.connections.join(", ")}`,
    `  each row sends for at most ${rowSec} s and at most ${count(plan.recordsPerRow)} records, then waits for its jobs (at most ${plan.jobTimeoutMs / 1000} s)`,
    cells.length === 0
      ? "client sweep: none (--no-client-sweep)"
      : `client sweep: ${cells.length} cells = write and RecordBuffer × maxRecords ${plan.client!.maxRecords.map(count).join(", ")} × concurrency ${plan.client!.concurrency.join(", ")} (RecordBuffer × maxAge ${plan.client!.maxAgeMs.map((m) => `${m} ms`).join(", ")}), each for at most ${rowSec} s and ${count(plan.recordsPerRow)} records`,
    `at most ${count((rows.length + cells.length) * plan.recordsPerRow)} records written; about ${Math.ceil(((rows.length + cells.length) * (rowSec + 2)) / 60)} min or more (rows also wait for their jobs)`,
    `recommendation for an accept p99 budget of ${plan.p99BudgetMs} ms; results to ${plan.outDir}/results.json and ${plan.outDir}/results.svg`
  ]
}
