/**
 * Overload (issue 13's must-show): N connections send 10,000-record appends for 60 s, as fast as the service answers
 * and faster than it commits, to a fresh `batchwrite serve` with its default admission bounds (or
 * `--max-backlog-records`). Each client does what a careful user does: every batch carries an `Idempotency-Key`; a
 * `503` or `429` is waited out for its `Retry-After` and the same batch sent again; a connection that fails is
 * retried with the same key until the batch gets a definite answer. Every second the run samples the workspace's
 * backlog (`/readyz`'s `data.admission`) and the service's RSS (`/proc/<pid>/status`). After the load it waits for
 * the backlog to drain and counts the stored rows in the database itself.
 *
 * It passes (exit 0) when the backlog never went beyond its bound plus the batches in flight at once, and every
 * accepted record is stored exactly once (rows = accepted records, every record's marker distinct; a batch never
 * accepted stored nothing). RSS is reported (peak and at the end), with the service's peak `VmHWM`.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks overload` (`-- --seconds 20 --connections 10 --backends sqlite,postgres
 * --max-backlog-records 500000 --serve-args "--inline-max-records 0"`: more arguments of `serve`).
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { RecordTables } from "@batchwrite/server"
import { ServeProcess, sleep } from "@batchwrite/server/testing/ServeProcess"
import { serveArgumentsOf } from "./BenchOptions.js"
import { eventRecord } from "./Bodies.js"

const argument = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback
}

const seconds = Number(argument("seconds", "60"))
const connections = Number(argument("connections", "10"))
const batchSize = Number(argument("batch", "10000"))
const backends = argument("backends", "sqlite,postgres").split(",")
const maxBacklogArgument = argument("max-backlog-records", "")
const serveArgs = serveArgumentsOf(argument("serve-args", ""))

/** One sample of the service. */
interface Sample {
  readonly second: number
  readonly backlog: number
  readonly rssBytes: number
}

/** What the load did. */
interface LoadOutcome {
  readonly acceptedBatches: number
  readonly refusals: Record<number, number>
  readonly inDoubtResends: number
}

/** better-sqlite3, as far as the count uses it (the package ships no types). */
const Database = createRequire(import.meta.url)("better-sqlite3") as new (
  filename: string,
  options: { readonly readonly: boolean }
) => { prepare(sql: string): { get(): unknown }; close(): void }

const pgUser = ["-h", "127.0.0.1", "-U", "postgres"]

const memoryOf = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

/** The body of batch `n`: its records carry the marker `ov-<n>-<i>` in `session_id`, unique in the run. */
const bodyOf = (n: number): string => {
  const records = new Array(batchSize)
  for (let i = 0; i < batchSize; i++) records[i] = { ...eventRecord(n * batchSize + i), session_id: `ov-${n}-${i}` }
  return JSON.stringify({ records })
}

const admissionOf = async (server: ServeProcess) => {
  const response = await server.fetch("/readyz", { signal: AbortSignal.timeout(10_000) })
  const body = (await response.json()) as {
    data?: { admission?: { backlogRecords: Record<string, number>; maxBacklogRecords: number } }
  }
  const admission = body.data?.admission
  if (admission === undefined) throw new Error(`/readyz answered ${response.status} without data.admission`)
  return {
    backlog: Object.values(admission.backlogRecords).reduce((sum, n) => sum + n, 0),
    bound: admission.maxBacklogRecords
  }
}

/** Sends batches on `connections` connections until `deadline`; each batch until it gets a definite answer. */
const load = async (server: ServeProcess, deadline: number): Promise<LoadOutcome> => {
  let next = 0
  let acceptedBatches = 0
  let inDoubtResends = 0
  const refusals: Record<number, number> = {}
  const connection = async () => {
    while (Date.now() < deadline) {
      const n = next++
      const body = bodyOf(n)
      // Until a definite answer: 202 (counted), or a refusal after the deadline (nothing was stored for it).
      while (true) {
        let response: Response
        try {
          response = await server.fetch("/public/v1/records/events/append-batch", {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": `overload-${n}` },
            body,
            signal: AbortSignal.timeout(120_000)
          })
        } catch {
          inDoubtResends++
          await sleep(500)
          continue
        }
        const text = await response.text()
        if (response.status === 202) {
          acceptedBatches++
          break
        }
        if (![503, 429, 409].includes(response.status)) {
          throw new Error(`batch ${n}: unexpected ${response.status} ${text.slice(0, 300)}`)
        }
        refusals[response.status] = (refusals[response.status] ?? 0) + 1
        if (Date.now() >= deadline && response.status !== 409) break
        await sleep(Math.max(1, Number(response.headers.get("retry-after") ?? "1")) * 1_000)
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, connection))
  return { acceptedBatches, refusals, inDoubtResends }
}

/** The stored rows of `events` and how many distinct markers they carry, read from the database itself. */
const storedRows = (backend: string, server: ServeProcess, database: string | undefined) => {
  const table = RecordTables.tableName("default", "events")
  if (backend === "sqlite") {
    const db = new Database(server.databaseFile, { readonly: true })
    try {
      const row = db
        .prepare(`SELECT count(*) AS n, count(DISTINCT json_extract(data, '$.session_id')) AS d FROM ${table}`)
        .get() as { n: number; d: number }
      return { rows: row.n, distinct: row.d }
    } finally {
      db.close()
    }
  }
  const output = execFileSync("psql", [
    ...pgUser,
    "-d",
    database!.split("/").pop()!,
    "-Atc",
    `SELECT count(*), count(DISTINCT (data::jsonb)->>'session_id') FROM ${table}`
  ])
    .toString()
    .trim()
  const [rows, distinct] = output.split("|").map(Number)
  return { rows: rows!, distinct: distinct! }
}

const run = async (backend: string): Promise<boolean> => {
  let database: string | undefined
  if (backend === "postgres") {
    const name = `batchwrite_overload_${process.pid}`
    execFileSync("createdb", [...pgUser, name])
    process.once("exit", () => execFileSync("dropdb", [...pgUser, "--force", "--if-exists", name]))
    database = `postgres://postgres@127.0.0.1:5432/${name}`
  }
  const args = [...(maxBacklogArgument === "" ? [] : ["--max-backlog-records", maxBacklogArgument]), ...serveArgs]
  const server = await ServeProcess.start({ database, workers: 2, rateLimit: 1_000_000, output: "files", args })
  try {
    const started = Date.now()
    const deadline = started + seconds * 1_000
    const samples: Array<Sample> = []
    let bound = 0
    let loading = true
    const sampler = (async () => {
      while (loading) {
        const admission = await admissionOf(server).catch(() => undefined)
        if (admission !== undefined) {
          bound = admission.bound
          samples.push({
            second: (Date.now() - started) / 1_000,
            backlog: admission.backlog,
            rssBytes: memoryOf(server.pid, "VmRSS")
          })
        }
        await sleep(1_000)
      }
    })()
    const outcome = await load(server, deadline)
    const loadSeconds = (Date.now() - started) / 1_000
    while ((await admissionOf(server)).backlog > 0) await sleep(1_000)
    const drainedSeconds = (Date.now() - started) / 1_000
    loading = false
    await sampler
    const accepted = outcome.acceptedBatches * batchSize
    const stored = storedRows(backend, server, database)
    const peakBacklog = Math.max(...samples.map((sample) => sample.backlog))
    const allowedBacklog = bound + connections * batchSize
    const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`
    const lateRss = samples.filter((sample) => sample.second >= loadSeconds / 2).map((sample) => sample.rssBytes)
    const exact = stored.rows === accepted && stored.distinct === accepted
    const bounded = peakBacklog <= allowedBacklog
    console.log(
      [
        `${backend}: ${connections} connections × ${batchSize.toLocaleString("en")}-record appends for ${seconds} s`,
        `  accepted ${outcome.acceptedBatches} batches (${accepted.toLocaleString("en")} records) at ${Math.round(accepted / loadSeconds).toLocaleString("en")} records/s; refusals ${JSON.stringify(outcome.refusals)}; resends after a failed connection ${outcome.inDoubtResends}`,
        `  backlog: bound ${bound.toLocaleString("en")} (+ ${connections} batches in flight = ${allowedBacklog.toLocaleString("en")}), peak ${peakBacklog.toLocaleString("en")} over ${samples.length} samples: ${bounded ? "within" : "BEYOND"} the bound`,
        `  drained ${(drainedSeconds - loadSeconds).toFixed(0)} s after the load; committed ${Math.round(accepted / drainedSeconds).toLocaleString("en")} records/s over the whole run`,
        `  RSS: peak sampled ${mib(Math.max(...samples.map((sample) => sample.rssBytes)))}, second half of the run ${mib(Math.min(...lateRss))}–${mib(Math.max(...lateRss))}, VmHWM ${mib(memoryOf(server.pid, "VmHWM"))}`,
        `  stored rows ${stored.rows.toLocaleString("en")}, distinct markers ${stored.distinct.toLocaleString("en")}: ${exact ? "every accepted record stored exactly once" : "NOT exactly the accepted records"}`
      ].join("\n")
    )
    return exact && bounded
  } finally {
    await server.dispose()
  }
}

const main = async () => {
  let ok = true
  for (const backend of backends) ok = (await run(backend)) && ok
  process.exit(ok ? 0 : 1)
}

main().catch((error) => {
  console.error(error)
  process.exit(2)
})
