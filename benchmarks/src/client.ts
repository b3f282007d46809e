/**
 * The client toolkit under load: sends N small records (default 1,000,000) to one fresh local `batchwrite serve`
 * through `RecordsClient.write` and through a `RecordBuffer` (its defaults), then upserts N records through `write`
 * and through a `RecordBuffer` with partitions, and appends N records with the seed's Python `RecordBuffer` recipe
 * (`python/record_buffer_recipe.py`). Each path is timed from its first record until every record is stored (every
 * job terminal), each in its own process, and reports that process's peak RSS (`VmHWM`). Records are generated
 * lazily, so the client never holds the whole input.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks client` (`-- --records 200000` for a shorter run; `-- --paths
 * write,buffer` for some paths only).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { DeadLetter, RecordBuffer, RecordsClient } from "@batchwrite/client"
import { Effect, Layer } from "effect"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"

const argument = (name: string, fallback: string): string => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback
}

const recordCount = Number(argument("records", "1000000"))
const paths = argument("paths", "write,buffer,write-upsert,buffer-upsert,python").split(",")
/** Distinct emails of the upserts: every key is written about four times, in input order. */
const upsertKeys = Math.max(1, Math.floor(recordCount / 4))
const partitions = 4

function* events(tag: string, count: number) {
  for (let i = 0; i < count; i++) {
    yield {
      session_id: `s-${i % 977}`,
      event: `${tag}-${i}`,
      url: `https://example.com/p/${i % 101}`,
      occurred_at: "2026-04-21T15:00:00Z",
      user_id: `u-${i % 4999}`,
      properties: { amount: (i % 1000) / 7, items: i % 5 }
    }
  }
}

function* profiles(tag: string, count: number) {
  for (let i = 0; i < count; i++) {
    yield { email: `${tag}-${i % upsertKeys}@example.com`, tier: `t${i}`, last_seen_at: "2026-04-21T15:00:00Z" }
  }
}

/** This process's peak RSS (`VmHWM`), in MiB. */
const peakRssMb = (): number => {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"))
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024)
}

interface Row {
  readonly path: string
  readonly seconds: number
  readonly stored: number
  readonly note: string
  readonly rssMb: number | undefined
}

const timed = async (path: string, run: () => Promise<{ stored: number; note: string }>): Promise<Row> => {
  const started = performance.now()
  const { note, stored } = await run()
  const seconds = (performance.now() - started) / 1000
  process.stderr.write(`[client] ${path}: ${seconds.toFixed(1)} s\n`)
  return { path, seconds, stored, note, rssMb: path === "python recipe" ? undefined : peakRssMb() }
}

const python = (origin: string, token: string) =>
  new Promise<{ seconds: number; jobs: number; inserted: number }>((resolve, reject) => {
    const script = fileURLToPath(new URL("../python/record_buffer_recipe.py", import.meta.url))
    const child = spawn("python3", [script, `${origin}/public/v1`, token, String(recordCount), "python"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.on("error", reject)
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`the Python recipe exited with ${code}`))
    )
  })

/** Runs one path in this process (a child of the benchmark) and prints its row as JSON. */
const child = async (path: string, origin: string, token: string) => {
  const rows: Array<Row> = []
  const server = { origin, token }
  {
    const client = Layer.merge(
      RecordsClient.layer({ baseUrl: `${server.origin}/public/v1`, token: server.token }),
      DeadLetter.memory
    )
    const run = <A, E>(effect: Effect.Effect<A, E, RecordsClient | DeadLetter>) =>
      Effect.runPromise(effect.pipe(Effect.provide(client)))

    const buffered = (object: string, options: RecordBuffer.RecordBufferOptions, records: Iterable<unknown>) =>
      run(
        Effect.scoped(
          Effect.gen(function* () {
            const buffer = yield* RecordBuffer.make(object, options)
            for (const record of records) yield* buffer.offer(record)
            return buffer
          })
        ).pipe(Effect.flatMap((buffer) => buffer.stats))
      ).then((stats) => ({
        stored: stats.delivered,
        note: `delivered ${stats.delivered}, dead-lettered ${stats.deadLettered}, unconfirmed ${stats.unconfirmed}`
      }))
    switch (path) {
      case "write":
        rows.push(
          await timed("write (append)", () =>
            run(
              Effect.flatMap(RecordsClient, (records) =>
                records.write("events", events("write", recordCount), { mode: "append" })
              )
            ).then((summary) => ({
              stored: summary.inserted,
              note: `batches ${summary.batches}, inserted ${summary.inserted}`
            }))
          )
        )
        break
      case "buffer":
        rows.push(
          await timed("RecordBuffer (append, defaults)", () =>
            buffered("events", { mode: "append" }, events("buffer", recordCount))
          )
        )
        break
      case "write-upsert":
        rows.push(
          await timed("write (upsert)", () =>
            run(
              Effect.flatMap(RecordsClient, (records) =>
                records.write("profiles", profiles("write", recordCount), { mode: "upsert", matchKey: "email" })
              )
            ).then((summary) => ({
              stored: summary.inserted + summary.updated,
              note: `batches ${summary.batches}, inserted ${summary.inserted}, updated ${summary.updated}`
            }))
          )
        )
        break
      case "buffer-upsert":
        rows.push(
          await timed(`RecordBuffer (upsert, ${partitions} partitions)`, () =>
            buffered(
              "profiles",
              { mode: "upsert", matchKey: "email", concurrency: partitions },
              profiles("buffer", recordCount)
            )
          )
        )
        break
      case "python":
        rows.push(
          await timed("python recipe", () =>
            python(origin, token).then((result) => ({
              stored: result.inserted,
              note: `jobs ${result.jobs}, inserted ${result.inserted} (its own clock: ${result.seconds.toFixed(1)} s)`
            }))
          )
        )
        break
      default:
        throw new Error(`unknown path ${path}`)
    }
  }
  console.log(JSON.stringify(rows[0]))
}

/** Each path in its own process, so that each peak RSS is its own. */
const runChild = (path: string, server: ServeProcess) =>
  new Promise<Row>((resolve, reject) => {
    const script = fileURLToPath(import.meta.url)
    const args = [...process.execArgv, script, "--child", path, "--origin", server.origin, "--token", server.token]
    const proc = spawn(process.execPath, [...args, "--records", String(recordCount)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    proc.on("error", reject)
    proc.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`${path} exited with ${code}`))
    )
  })

const main = async () => {
  const server = await ServeProcess.start({ workers: 2, rateLimit: 1_000_000, output: "files" })
  const rows: Array<Row> = []
  try {
    for (const path of paths) rows.push(await runChild(path, server))
  } finally {
    await server.stop()
    await server.dispose()
  }
  console.log(
    `client benchmark: ${recordCount.toLocaleString("en")} records per path to one local serve (SQLite, 2 workers), ${process.version}, ${new Date().toISOString()}`
  )
  console.log("| path | records/s until stored | seconds | client peak RSS | |")
  console.log("|---|---:|---:|---:|---|")
  for (const row of rows) {
    console.log(
      `| ${row.path} | ${Math.round(recordCount / row.seconds).toLocaleString("en")} | ${row.seconds.toFixed(1)} | ${row.rssMb === undefined ? "–" : `${row.rssMb} MiB`} | ${row.note} |`
    )
  }
  const rate = (name: string) => {
    const row = rows.find((r) => r.path.startsWith(name))
    return row === undefined ? undefined : recordCount / row.seconds
  }
  const [write, buffer, writeUpsert, bufferUpsert] = [
    rate("write (append)"),
    rate("RecordBuffer (append"),
    rate("write (upsert)"),
    rate("RecordBuffer (upsert")
  ]
  if (write !== undefined && buffer !== undefined)
    console.log(`RecordBuffer / write (append): ${(buffer / write).toFixed(2)}×`)
  if (writeUpsert !== undefined && bufferUpsert !== undefined) {
    console.log(`RecordBuffer / write (upsert): ${(bufferUpsert / writeUpsert).toFixed(2)}×`)
  }
}

const childPath = process.argv.indexOf("--child") >= 0 ? argument("child", "") : undefined
await (childPath === undefined ? main() : child(childPath, argument("origin", ""), argument("token", "")))
