/**
 * A benchmark of a running deployment, over its public API only: sets up the object (creates `bench_<time>`, or
 * reads the schema of the one given), runs every row of the server sweep (a bounded load, then every job read until
 * it is done), runs the client sweep, and writes `results.json` and `results.svg`; prints the table, the
 * recommendation lines and how many records it wrote where. Progress goes to standard error (a line redrawn in place
 * on a terminal, one line per finished row otherwise); the report to standard output.
 */
import { RecordsClient, type RequestError, retryPolicy } from "@batchwrite/client"
import type { ObjectSchema } from "@batchwrite/core"
import { FetchHttpClient, FileSystem, Path } from "@effect/platform"
import { Console, Data, Effect, Redacted } from "effect"
import { renderChart } from "./BenchChart.js"
import { type BatchOperation, type BenchPlan, clientCellsOf, rowsOf } from "./BenchPlan.js"
import {
  batchRecords,
  benchMatchKey,
  benchObjectSchema,
  benchRecord,
  type RecordMaker,
  schemaRecords
} from "./BenchRecords.js"
import { count, describePlan, ms, recommend, recommendClient, renderCells, renderRows } from "./BenchReport.js"
import { type BenchResults, type ClientCell, percentile, percentilesOf, type ServerRow } from "./BenchResults.js"
import { runCell } from "./ClientSweep.js"
import { awaitJobs } from "./JobReads.js"
import { runLoad } from "./LoadRow.js"
import { makeGate } from "./RetryAfterGate.js"

/** The run could not be done: the service refused the setup, or results could not be written. */
export class BenchFailure extends Data.TaggedError("BenchFailure")<{ readonly message: string }> {}

/** How the run reports. */
export interface RunOptions {
  readonly token: Redacted.Redacted<string>
  /** Print the results as one JSON document instead of the tables. */
  readonly json: boolean
}

/** What a finished run answers: its results, and whether any row or cell had errors. */
export interface RunOutcome {
  readonly results: BenchResults | undefined
  readonly hadErrors: boolean
}

const describeSetupError = (error: RequestError, what: string, url: string): string => {
  switch (error._tag) {
    case "TransportError":
      return `cannot reach the service at ${url} (${error.message}): check --url (it ends in /public/v1)`
    case "Unauthorized":
      return "the service refused the token (401): check --token or BATCHWRITE_TOKEN"
    case "Forbidden":
      return what.startsWith("create")
        ? `${what} needs the admin scope (403: ${error.message}): use a token with admin, or write into an existing object with --object <name> (and --match-key <field> to upsert)`
        : `${what}: the token may not do this (403: ${error.message})`
    case "NotFound":
      return `${what}: not found (404: ${error.message})`
    default:
      return `${what} failed (${error._tag}: ${error.message})`
  }
}

/** Progress on standard error: redrawn in place on a terminal, else nothing (rows still print one line each). */
const progress = {
  tty: () => process.stderr.isTTY === true,
  draw: (line: string) => {
    if (progress.tty())
      process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stderr.columns || 120) - 1))}`)
  },
  line: (line: string) =>
    Effect.sync(() => process.stderr.write(`${progress.tty() ? "\r\x1b[2K" : ""}[bench] ${line}\n`))
}

/** Runs the plan (or prints it, with `dryRun`). */
export const runBench = (
  plan: BenchPlan,
  options: RunOptions
): Effect.Effect<RunOutcome, BenchFailure, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    if (plan.dryRun) {
      yield* Console.log([...describePlan(plan), "dry run: nothing was sent"].join("\n"))
      return { results: undefined, hadErrors: false }
    }
    const started = performance.now()
    const token = Redacted.value(options.token)
    const baseUrl = plan.url.replace(/\/+$/, "")
    for (const line of describePlan(plan)) yield* progress.line(line)
    const setupClient = RecordsClient.layer({
      baseUrl,
      token: options.token,
      retry: retryPolicy({ maxRetries: 3, maxElapsed: "20 seconds" })
    })
    const setup = <A>(what: string, effect: Effect.Effect<A, RequestError, RecordsClient>) =>
      effect.pipe(
        Effect.provide(setupClient),
        Effect.mapError((error) => new BenchFailure({ message: describeSetupError(error, what, plan.url) }))
      )

    // The object, its records and the match key of upserts.
    const objectName = plan.target.objectName
    let makeRecord: RecordMaker
    let matchKey: string | undefined
    if (plan.target._tag === "Create") {
      yield* setup(
        `create the object ${objectName}`,
        Effect.flatMap(RecordsClient, (client) => client.putObject(objectName, benchObjectSchema))
      )
      yield* progress.line(`created the object ${objectName}`)
      makeRecord = benchRecord
      matchKey = benchMatchKey
    } else {
      const wanted = plan.target.matchKey
      const definition: ObjectSchema.ObjectDefinition = yield* setup(
        `read the object ${objectName}`,
        Effect.flatMap(RecordsClient, (client) => client.getObject(objectName))
      )
      if (wanted !== undefined && !definition.matchKeys.includes(wanted)) {
        return yield* new BenchFailure({
          message: `--match-key ${wanted} is not a match key of ${objectName} (its match keys: ${definition.matchKeys.join(", ") || "none"})`
        })
      }
      makeRecord = schemaRecords(definition, Math.floor(Date.now() / 1000) % 1_000_000)
      matchKey = wanted
    }
    const runTag = `bench-${Date.now().toString(36)}`

    // The server sweep.
    const rows: Array<ServerRow> = []
    const notes: Array<string> = []
    const givenUp = new Set<BatchOperation>()
    const planned = rowsOf(plan)
    for (const [n, { operation, batchSize, connections }] of planned.entries()) {
      if (givenUp.has(operation)) continue
      const tag = `${runTag}-${operation === "append-batch" ? "a" : "u"}${batchSize}x${connections}`
      const gate = makeGate()
      const statusCounts = { sent: 0, limited: 0 }
      const label = `row ${n + 1}/${planned.length}: ${operation} × ${count(batchSize)}, ${connections} connection${connections === 1 ? "" : "s"}`
      const startedRow = performance.now()
      const ticker = progress.tty()
        ? setInterval(
            () =>
              progress.draw(
                `${label}: ${((performance.now() - startedRow) / 1000).toFixed(1)} s, ${statusCounts.sent} answers, ${statusCounts.limited} × 429`
              ),
            250
          )
        : undefined
      const load = yield* runLoad({
        url: `${baseUrl}/records/${objectName}/${operation}`,
        token,
        connections,
        durationMs: plan.durationMs,
        maxBatches: Math.max(1, Math.floor(plan.recordsPerRow / batchSize)),
        gate,
        body: (index) => {
          const records = batchRecords(makeRecord, tag, operation, batchSize, index)
          return JSON.stringify(operation === "upsert-batch" ? { records, matchKey } : { records })
        },
        onAnswer: (status) => {
          statusCounts.sent++
          if (status === 429) statusCounts.limited++
        }
      }).pipe(Effect.provide(FetchHttpClient.layer))
      const jobs = yield* awaitJobs({
        baseUrl,
        token,
        objectName,
        jobIds: load.accepted.map((batch) => batch.jobId),
        gate,
        timeoutMs: plan.jobTimeoutMs,
        concurrency: Math.min(8, Math.max(2, connections))
      }).pipe(Effect.provide(FetchHttpClient.layer))
      if (ticker !== undefined) clearInterval(ticker)
      const recordsAccepted = load.accepted.length * batchSize
      const recordsCommitted = jobs.inserted + jobs.updated
      const nonLimited = Object.entries(load.statuses).filter(
        ([status]) => !status.startsWith("2") && status !== "429" && status !== "503"
      )
      const errorDetails: Array<string> = []
      for (const [status, times] of nonLimited) errorDetails.push(`${times} × ${status}`)
      if (load.firstError !== undefined) errorDetails.push(load.firstError)
      if (load.transportErrors > 0) errorDetails.push(`${load.transportErrors} requests without an answer`)
      if (jobs.timedOut > 0) {
        errorDetails.push(`${jobs.timedOut} of ${jobs.jobs} jobs not done ${plan.jobTimeoutMs / 1000} s after the load`)
      }
      if (jobs.firstError !== undefined) errorDetails.push(jobs.firstError)
      if (jobs.failedJobs > 0) errorDetails.push(`${jobs.failedJobs} jobs failed`)
      if (jobs.invalid > 0) errorDetails.push(`${jobs.invalid} rows invalid`)
      const uncommitted = recordsAccepted - recordsCommitted - jobs.invalid - jobs.stale
      if (uncommitted !== 0 && jobs.timedOut === 0) {
        errorDetails.push(`${recordsAccepted} records accepted but ${recordsCommitted} committed`)
      }
      const committedMs = Math.max(load.elapsedMs, jobs.spanMs)
      const jobLatencies = [...jobs.latenciesMs].sort((a, b) => a - b)
      const rateLimited = (load.statuses["429"] ?? 0) + (jobs.readStatuses["429"] ?? 0)
      const row: ServerRow = {
        operation,
        batchSize,
        connections,
        requests: load.accepted.length,
        requestsPerSec: load.accepted.length / (load.elapsedMs / 1000),
        recordsAccepted,
        acceptedRecordsPerSec: recordsAccepted / (load.elapsedMs / 1000),
        recordsCommitted,
        committedRecordsPerSec: recordsCommitted / (committedMs / 1000),
        inserted: jobs.inserted,
        updated: jobs.updated,
        invalid: jobs.invalid,
        latencyMs: percentilesOf(load.latenciesMs),
        jobLatencyMs: { p50: percentile(jobLatencies, 50), p99: percentile(jobLatencies, 99) },
        statuses: load.statuses,
        rateLimited,
        retryAfterWaitMs: Math.round(gate.heldMs()),
        errors:
          nonLimited.reduce((total, [, times]) => total + times, 0) +
          load.transportErrors +
          jobs.timedOut +
          jobs.failedJobs +
          jobs.invalid +
          Math.abs(uncommitted) * (jobs.timedOut === 0 ? 1 : 0),
        errorDetails,
        loadSec: Math.round(load.elapsedMs) / 1000
      }
      rows.push(row)
      yield* progress.line(
        `${label}: ${count(row.committedRecordsPerSec)} committed rec/s, accept p99 ${ms(row.latencyMs.p99)} ms` +
          `${rateLimited > 0 ? `, ${rateLimited} × 429 (waited ${(row.retryAfterWaitMs / 1000).toFixed(1)} s)` : ""}` +
          `${row.errors > 0 ? `, ${row.errors} ERRORS: ${errorDetails.join("; ")}` : ""}`
      )
      if (jobs.timedOut > 0 || load.firstError !== undefined) {
        givenUp.add(operation)
        notes.push(
          `${operation}: the rest of its rows were skipped after ${operation} × ${batchSize} with ${connections} connections (${errorDetails[0]})`
        )
        yield* progress.line(notes[notes.length - 1]!)
      }
    }

    // The client sweep.
    const cells: Array<ClientCell> = []
    const plannedCells = clientCellsOf(plan)
    for (const [n, cell] of plannedCells.entries()) {
      if (givenUp.has(cell.operation)) continue
      const label =
        `client ${n + 1}/${plannedCells.length}: ${cell.tool} ${cell.operation}, maxRecords ${count(cell.maxRecords)}, ` +
        `concurrency ${cell.concurrency}${cell.maxAgeMs === null ? "" : `, maxAge ${cell.maxAgeMs} ms`}`
      if (progress.tty()) progress.draw(`${label}…`)
      const result = yield* runCell(cell, {
        baseUrl,
        token,
        objectName,
        matchKey: cell.operation === "upsert-batch" ? matchKey : undefined,
        makeRecord,
        tag: `${runTag}-c${n}`,
        durationMs: plan.durationMs,
        records: plan.recordsPerRow
      })
      cells.push(result)
      yield* progress.line(
        `${label}: ${count(result.recordsPerSec)} rec/s end to end, accept p99 ${ms(result.acceptLatencyMs.p99)} ms` +
          `${result.rateLimited > 0 ? `, ${result.rateLimited} × 429` : ""}` +
          `${result.errors > 0 ? `, ERRORS: ${result.errorDetails.join("; ")}` : ""}`
      )
    }

    const recommendations = recommend(rows, plan.operations, plan.p99BudgetMs)
    const clientRecommendations = recommendClient(cells, plan.p99BudgetMs)
    const accepted = rows.reduce((t, r) => t + r.recordsAccepted, 0) + cells.reduce((t, c) => t + c.records, 0)
    const inserted = rows.reduce((t, r) => t + r.inserted, 0)
    const updated = rows.reduce((t, r) => t + r.updated, 0)
    const clientDelivered = cells.reduce((t, c) => t + c.delivered, 0)
    const written = {
      objectName,
      created: plan.target._tag === "Create",
      accepted,
      inserted,
      updated,
      invalid: rows.reduce((t, r) => t + r.invalid, 0),
      line:
        `wrote ${count(accepted)} records into ${objectName}` +
        ` (server sweep: ${count(inserted)} inserted, ${count(updated)} updated; client sweep: ${count(clientDelivered)} committed)` +
        (plan.target._tag === "Create"
          ? `; the object ${objectName} was created by this run and keeps its rows (the API has no delete)`
          : `; no other object was written`)
    }
    const results: BenchResults = {
      generatedAt: new Date().toISOString(),
      url: plan.url,
      durationSec: Math.round((performance.now() - started) / 100) / 10,
      plan: {
        objectName,
        createObject: plan.target._tag === "Create",
        matchKey: matchKey ?? null,
        operations: plan.operations,
        batchSizes: plan.batchSizes,
        connections: plan.connections,
        durationSec: plan.durationMs / 1000,
        recordsPerRow: plan.recordsPerRow,
        jobTimeoutSec: plan.jobTimeoutMs / 1000,
        p99BudgetMs: plan.p99BudgetMs,
        client: plan.client ?? null
      },
      rows,
      clientSweep: cells,
      recommendations,
      clientRecommendations,
      written,
      notes
    }
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const jsonPath = path.join(plan.outDir, "results.json")
    const svgPath = path.join(plan.outDir, "results.svg")
    yield* Effect.all([
      fs.makeDirectory(plan.outDir, { recursive: true }),
      fs.writeFileString(jsonPath, `${JSON.stringify(results, null, 2)}\n`),
      fs.writeFileString(svgPath, renderChart(results))
    ]).pipe(
      Effect.mapError(
        (error) => new BenchFailure({ message: `cannot write the results into ${plan.outDir}: ${error.message}` })
      )
    )
    const hadErrors = rows.some((row) => row.errors > 0) || cells.some((cell) => cell.errors > 0)
    if (options.json) {
      yield* Console.log(JSON.stringify(results))
    } else {
      const failures = [
        ...rows
          .filter((row) => row.errors > 0)
          .map(
            (row) =>
              `!!! ERRORS in ${row.operation} × ${row.batchSize}, ${row.connections} connections: ${row.errorDetails.join("; ")}`
          ),
        ...cells
          .filter((cell) => cell.errors > 0)
          .map(
            (cell) =>
              `!!! ERRORS in client ${cell.tool} ${cell.operation} maxRecords ${cell.maxRecords}: ${cell.errorDetails.join("; ")}`
          )
      ]
      yield* Console.log(
        [
          "",
          rows.length === 0 ? "no server rows ran" : renderRows(rows),
          ...(cells.length === 0 ? [] : ["", renderCells(cells)]),
          "",
          ...recommendations.map((r) => r.line),
          ...clientRecommendations.map((r) => r.line),
          ...notes.map((note) => `note: ${note}`),
          ...failures,
          written.line,
          `run in ${results.durationSec} s; wrote ${jsonPath} and ${svgPath}`
        ].join("\n")
      )
    }
    return { results, hadErrors }
  })
