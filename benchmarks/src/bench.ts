/**
 * `pnpm bench`: throughput and latency of batchwrite by batch size (SPEC §6). For each backend a fresh
 * `batchwrite serve` runs as its own process; autocannon sends pre-built bodies (each body once) for every batch
 * size of append-batch and upsert-batch (upserts that merge), then the single-record endpoint; each row waits until
 * every job is terminal. After each row the same records go straight into the database (the database ceiling) and
 * the same bodies through a plain synchronous HTTP → database service (the synchronous baseline); the service's
 * own storage code's ceiling (parse + RecordsRepo, no HTTP) and the HTTP ceiling (a bare node:http server reading
 * the same bodies) are measured in the same run; with `--rounds n` each row, its baseline and its ceiling are measured
 * n times in turn and the medians reported (`Rounds.ts`). Prints a table, writes `results/latest.json` and
 * `results/latest.svg`, and recommends a batch size for a p99 budget. `--help` lists the options. With `--url` it
 * measures an existing deployment instead (`DeploymentMode.ts`, the same command as `batchwrite bench`).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, release, totalmem } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Backend, detectBackends } from "./Backends.js"
import { type BenchOptions, parseOptions, requestsFor, usage } from "./BenchOptions.js"
import { runDeploymentMode } from "./DeploymentMode.js"
import { makeBodies, type Operation, objectOf, pathOf } from "./Bodies.js"
import { type DatabaseCeiling, measureDatabaseCeiling } from "./DatabaseCeiling.js"
import { type DirectWriter, openPgWriter, openSqliteWriter } from "./DirectWriter.js"
import { renderChart } from "./Chart.js"
import { startBareServer } from "./HttpCeiling.js"
import { awaitJobs, JobsTimeout, watchJobs } from "./JobTracking.js"
import { runLoad } from "./Load.js"
import { recommend, renderCeilings, renderErrors, renderRecommendations, renderTable, renderTargets } from "./Report.js"
import type { HttpCeiling, Results, Row, StorageCeilingResult } from "./Results.js"
import { type SyncBaseline, startSyncBaseline, type SyncBaselineRow } from "./SyncBaseline.js"
import { measureRow } from "./ServiceRow.js"
import { combineRounds, type Round } from "./Rounds.js"
import { measureStorageCeiling, type StorageCeiling } from "./StorageCeiling.js"
import { binBuiltAt, ServeProcess } from "@batchwrite/server/testing/ServeProcess"

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`)
const round = (n: number) => Math.round(n)

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // `exit` handlers stop every child process.
  process.once(signal, () => process.exit(130))
}

const machine = () => {
  let commit: string | undefined
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
  } catch {
    commit = undefined
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.versions.node,
    os: `${process.platform} ${release()}`,
    loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
    commit,
    cliBuiltAt: binBuiltAt()
  }
}

/**
 * Sends a few hundred batches of 100 of `operation` and waits for their jobs: JIT and caches warm, discarded.
 * Answers an error message when the jobs did not finish within the row timeout.
 */
const warmUp = async (
  server: ServeProcess,
  options: BenchOptions,
  operation: "append-batch" | "upsert-batch",
  tag: string
): Promise<string | undefined> => {
  const bodies = makeBodies(operation, 100, options.quick ? 60 : 150, `${tag}-warm`, {
    updateShare: options.upsertUpdateShare
  })
  const watch = await watchJobs(server)
  const load = await runLoad({
    url: server.origin,
    path: pathOf(operation, operation === "upsert-batch" ? "profiles" : "events"),
    token: server.token,
    bodies,
    connections: options.connections,
    collectJobIds: true
  })
  const outcome = await awaitJobs(server, operation === "upsert-batch" ? "profiles" : "events", load.jobIds, watch, {
    sampleSize: 1,
    timeoutMs: options.rowTimeoutMs
  }).catch((error: unknown) => {
    if (error instanceof JobsTimeout) return `${operation} warm-up: ${error.message}`
    throw error
  })
  return typeof outcome === "string" ? outcome : undefined
}

const main = async () => {
  const argv = process.argv.slice(2)
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage)
    return
  }
  let options: BenchOptions
  try {
    options = parseOptions(argv, fileURLToPath(new URL("../results", import.meta.url)))
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`)
    process.exitCode = 2
    return
  }
  const started = performance.now()
  const loadAverageAtStart = loadavg().map((n) => Math.round(n * 100) / 100)
  const notes: Array<string> = []
  const custom = ["--sizes", "--operations", "--backends", "--connections", "--workers"].some((flag) =>
    argv.includes(flag)
  )
  const mode = custom ? "custom" : options.quick ? "quick" : "full"
  progress(`${mode} run: batch sizes ${options.batchSizes.join(", ")}; ${options.connections} connections`)

  // Each backend's storage ceiling, with each of its connections, just before its service starts and just after it
  // stops; the best one counts.
  const measureCeilings = async (backend: Backend, when: string) => {
    const ceilings: Array<ReadonlyArray<StorageCeiling>> = []
    for (const operation of options.operations) {
      const bodies = makeBodies(operation, 10_000, options.ceilingBatches + 2, "ceiling", {
        updateShare: options.upsertUpdateShare
      })
      const byConnection: Array<StorageCeiling> = []
      for (const connection of backend.connections) {
        const fresh = backend.freshStorage(connection)
        const ceiling = await measureStorageCeiling(backend.name, connection, fresh, operation, 10_000, bodies)
        progress(
          `${backend.name} storage ceiling ${operation}, ${connection} (${when}): ` +
            `${round(ceiling.recordsPerSec).toLocaleString("en")} records/s`
        )
        byConnection.push(ceiling)
      }
      ceilings.push(byConnection)
    }
    return ceilings
  }
  const storage: Array<StorageCeilingResult> = []
  /** When the CLI each backend's service ran was built: other work may rebuild it during a long run. */
  const cliBuilds: Record<string, string> = {}

  const bare = await startBareServer()
  const http: Array<HttpCeiling> = []
  /** Every row's rounds (the single-record row has one, without baseline or ceiling). */
  const rows: Array<ReadonlyArray<Round>> = []
  const databaseCeilings: Array<DatabaseCeiling & { round: number }> = []
  const syncBaselines: Array<
    SyncBaselineRow & { backend: string; operation: Operation; batchSize: number; round: number }
  > = []
  /**
   * One round of a row: the service, then the same records through the synchronous baseline and straight into the
   * database (not when the service's jobs timed out: a backlog would distort them).
   */
  const measureRound = async (
    on: {
      readonly backend: string
      readonly server: ServeProcess
      readonly baseline: SyncBaseline
      readonly writer: DirectWriter
    },
    operation: "append-batch" | "upsert-batch",
    batchSize: number,
    n: number
  ): Promise<Round> => {
    const bodies = makeBodies(
      operation,
      batchSize,
      requestsFor(options, batchSize),
      `${on.backend}-${batchSize}-${n}`,
      {
        updateShare: options.upsertUpdateShare
      }
    )
    const measured = await measureRow(on.server, {
      backend: on.backend,
      operation,
      batchSize,
      bodies,
      connections: options.connections,
      jobSample: options.jobSample,
      timeoutMs: options.rowTimeoutMs,
      bareOrigin: http.some((c) => c.operation === operation && c.batchSize === batchSize) ? undefined : bare.origin
    })
    if (measured.httpCeiling !== undefined) http.push(measured.httpCeiling)
    const ceiling = http.find((c) => c.operation === operation && c.batchSize === batchSize)
    const row = { ...measured.row, httpCeilingRecordsPerSec: ceiling?.recordsPerSec ?? null }
    if (measured.timedOut) return { row, sync: undefined, database: undefined }
    const sync = await on.baseline.measure(
      pathOf(operation, objectOf(operation)),
      bodies,
      batchSize,
      options.connections
    )
    syncBaselines.push({ backend: on.backend, operation, batchSize, round: n, ...sync })
    const database = await measureDatabaseCeiling(on.writer, {
      backend: on.backend,
      operation,
      batchSize,
      bodies,
      // PostgreSQL commits appends side by side; upserts keep their order, and SQLite has one writer.
      concurrency: on.backend === "postgres" && operation === "append-batch" ? options.connections : 1
    })
    databaseCeilings.push({ ...database, round: n })
    return { row, sync, database }
  }
  const { backends, notes: backendNotes } = await detectBackends(options.backends)
  notes.push(...backendNotes)
  try {
    for (const backend of backends) {
      const atStart = await measureCeilings(backend, "start")
      // The database ceiling's and the synchronous baseline's databases: plain tables, never batchwrite's.
      const direct = backend.plainDatabase("direct")
      const plain = backend.plainDatabase("sync")
      const writer = direct.target.startsWith("sqlite:")
        ? openSqliteWriter(direct.target.slice("sqlite:".length))
        : openPgWriter(direct.target, options.connections)
      const baseline = await startSyncBaseline(plain.target, options.connections)
      const disposePlain = async () => {
        await baseline.stop()
        await writer.close()
        direct.dispose()
        plain.dispose()
      }
      let server: ServeProcess
      try {
        server = await ServeProcess.start({
          database: backend.database,
          workers: options.workers,
          rateLimit: 1_000_000,
          args: options.serveArgs,
          output: "files",
          nodeArgs: options.cpuProfileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir]
        })
      } catch (error) {
        const lines = (error as Error).message.split("\n").filter((line) => line.trim() !== "")
        const reason = (lines.slice(-1)[0] ?? "no output").replace(/ \(got '.*$/, "")
        notes.push(`${backend.name} skipped: the service did not start on it (${reason})`)
        progress(notes[notes.length - 1]!)
        await disposePlain()
        backend.dispose()
        continue
      }
      try {
        cliBuilds[backend.name] = binBuiltAt() ?? "unknown"
        progress(`${backend.name}: serve pid ${server.pid} on ${server.origin} (CLI built ${cliBuilds[backend.name]})`)
        let givenUp = false
        for (const operation of options.operations) {
          const warmUpFailure = givenUp ? undefined : await warmUp(server, options, operation, backend.name)
          if (warmUpFailure !== undefined) {
            givenUp = true
            notes.push(`${backend.name}: ${warmUpFailure}; the rest of ${backend.name} was skipped`)
            progress(notes[notes.length - 1]!)
          }
          for (const batchSize of options.batchSizes) {
            if (givenUp) break
            const requests = requestsFor(options, batchSize)
            const rounds: Array<Round> = []
            for (let n = 0; n < options.rounds && !givenUp; n++) {
              const measured = await measureRound(
                { backend: backend.name, server, baseline, writer },
                operation,
                batchSize,
                n
              )
              rounds.push(measured)
              const { row } = measured
              progress(
                `${backend.name} ${operation} × ${batchSize}${options.rounds > 1 ? ` (round ${n + 1})` : ""}: ` +
                  `${requests} requests, ${round(row.committedRecordsPerSec).toLocaleString("en")} committed rec/s, ` +
                  `p99 ${round(row.latencyMs.p99)} ms${row.errors > 0 ? `, ${row.errors} ERRORS` : ""}` +
                  (measured.sync === undefined || measured.database === undefined
                    ? ""
                    : `; synchronous baseline ${round(measured.sync.recordsPerSec).toLocaleString("en")} rec/s` +
                      `${measured.sync.errors > 0 ? ` (${measured.sync.errors} ERRORS)` : ""}, database ceiling ` +
                      `${round(measured.database.recordsPerSec).toLocaleString("en")} rec/s`)
              )
              if (measured.database === undefined) {
                givenUp = true
                notes.push(
                  `${backend.name}: ${operation} × ${batchSize} timed out (${row.errorDetails[0]}); the rest of ` +
                    `${backend.name} was skipped`
                )
                progress(notes[notes.length - 1]!)
              }
            }
            rows.push(rounds)
          }
        }
        if (!givenUp) {
          const probe = await server.fetch(pathOf("single-record", "events"), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ event: "probe", occurred_at: "2026-04-21T15:00:00Z" })
          })
          const probeText = await probe.text()
          if (probe.status === 404 && probeText.includes("NOT_FOUND.ROUTE")) {
            notes.push(
              `${backend.name} single-record skipped: POST /public/v1/records/{object} answers 404 NOT_FOUND.ROUTE`
            )
            progress(notes[notes.length - 1]!)
          } else {
            const { row } = await measureRow(server, {
              backend: backend.name,
              operation: "single-record",
              batchSize: 1,
              bodies: makeBodies("single-record", 1, options.singleRecordRequests, backend.name),
              connections: options.connections,
              jobSample: 0,
              timeoutMs: options.rowTimeoutMs,
              bareOrigin: undefined
            })
            rows.push([{ row, sync: undefined, database: undefined }])
            progress(
              `${backend.name} single-record: ${round(row.requestsPerSec)} req/s, p99 ${round(row.latencyMs.p99)} ms`
            )
          }
        }
      } finally {
        const code = await server.stop().catch((error: unknown) => (error as Error).message.split("\n")[0])
        await server.dispose()
        await disposePlain()
        if (code !== 0) notes.push(`${backend.name}: serve exited with code ${code} on SIGTERM`)
      }
      const atEnd = await measureCeilings(backend, "end")
      backend.dispose()
      atStart.forEach((start, i) => {
        const end = atEnd[i]!
        const best = [...start, ...end].reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a))
        const bestOf = (ceilings: ReadonlyArray<StorageCeiling>) =>
          round(Math.max(...ceilings.map((c) => c.recordsPerSec)))
        storage.push({
          ...best,
          measuredAtStart: bestOf(start),
          measuredAtEnd: bestOf(end),
          byConnection: start.map((ceiling, j) => ({
            connection: ceiling.connection,
            atStart: round(ceiling.recordsPerSec),
            atEnd: round(end[j]!.recordsPerSec)
          }))
        })
      })
    }
  } finally {
    await bare.stop()
  }

  const storageOf = (backend: string, operation: Operation) =>
    storage.find((c) => c.backend === backend && c.operation === operation)?.recordsPerSec
  const finalRows: Array<Row> = rows.map((rounds) => {
    const { backend, operation } = rounds[0]!.row
    return combineRounds(rounds, storageOf(backend, operation === "single-record" ? "append-batch" : operation))
  })
  for (const sync of syncBaselines.filter((s) => s.errors > 0)) {
    notes.push(
      `${sync.backend} ${sync.operation} × ${sync.batchSize}: the synchronous baseline had ${sync.errors} errors` +
        (options.rounds > 1 ? ` in round ${sync.round + 1}` : "") +
        (sync.firstError === undefined ? "" : ` (the first: ${sync.firstError.slice(0, 300)})`)
    )
  }
  const recommendations = recommend(finalRows, options.p99BudgetMs)
  const results: Results = {
    generatedAt: new Date().toISOString(),
    mode,
    durationSec: round((performance.now() - started) / 1000),
    machine: { ...machine(), loadAverageAtStart, cliBuiltAtServeStart: cliBuilds },
    settings: {
      batchSizes: options.batchSizes,
      operations: options.operations,
      backends: options.backends,
      connections: options.connections,
      pipelining: 1,
      workers: options.workers,
      rateLimit: "1000000/s",
      recordsPerRow: options.recordsPerRow,
      upsertUpdateShare: options.upsertUpdateShare,
      requestsPerRow: { min: options.minRequests, max: options.maxRequests },
      singleRecordRequests: options.singleRecordRequests,
      jobSample: options.jobSample,
      rounds: options.rounds,
      serveArgs: options.serveArgs,
      p99BudgetMs: options.p99BudgetMs,
      cpuProfileDir: options.cpuProfileDir ?? null
    },
    ceilings: { database: databaseCeilings, syncBaseline: syncBaselines, storage, http },
    rows: finalRows,
    recommendations,
    notes
  }

  mkdirSync(options.outDir, { recursive: true })
  writeFileSync(join(options.outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(options.outDir, "latest.svg"), renderChart(results, options.p99BudgetMs))

  const output = [
    "",
    renderTable(finalRows, argv.includes("--markdown") ? "markdown" : "terminal"),
    "",
    ...(options.rounds > 1
      ? [`${options.rounds} rounds per row: × DB and × sync are the medians of the rounds' ratios`, ""]
      : []),
    ...renderCeilings(storage, http),
    ...renderRecommendations(recommendations),
    ...renderTargets(finalRows),
    ...notes.map((note) => `note: ${note}`),
    ...renderErrors(results),
    `${mode} run in ${results.durationSec} s; wrote ${join(options.outDir, "latest.json")} and latest.svg`,
    ""
  ]
  process.stdout.write(output.join("\n"))
  if (finalRows.some((row) => row.errors > 0)) process.exitCode = 1
}

const args = process.argv.slice(2)
if (args.some((arg) => arg === "--url" || arg.startsWith("--url="))) {
  runDeploymentMode(args)
} else {
  main().catch(failed)
}

function failed(error: unknown) {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
}
