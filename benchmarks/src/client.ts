/**
 * The client toolkit under load: sends N events-like records (default 1,000,000) to a fresh local
 * `batchwrite serve` through `RecordsClient.write` and through a `RecordBuffer`, and reports records/s (from the
 * first send until every job is terminal) and the client's peak RSS. Records are generated lazily, so the client
 * never holds the whole input.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks client` (`-- --records 200000` for a shorter run).
 */
import { readFileSync } from "node:fs"
import { DeadLetter, RecordBuffer, RecordsClient } from "@batchwrite/client"
import { Effect, Layer } from "effect"
import { ServeProcess } from "./ServeProcess.js"

const argument = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}

const recordCount = argument("records", 1_000_000)

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

/** This process's peak RSS (`VmHWM`), in MiB. */
const peakRssMb = (): number => {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"))
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024)
}

const timed = async <A>(run: () => Promise<A>) => {
  const started = performance.now()
  const value = await run()
  return { value, seconds: (performance.now() - started) / 1000 }
}

const main = async () => {
  const server = await ServeProcess.start({ workers: 2 })
  try {
    const client = Layer.merge(
      RecordsClient.layer({ baseUrl: `${server.origin}/public/v1`, token: server.token }),
      DeadLetter.memory
    )
    const viaWrite = await timed(() =>
      Effect.runPromise(
        Effect.flatMap(RecordsClient, (records) =>
          records.write("events", events("write", recordCount), { mode: "append", concurrency: 4 })
        ).pipe(Effect.provide(client))
      )
    )
    const afterWrite = peakRssMb()
    const viaBuffer = await timed(() =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const buffer = yield* RecordBuffer.make("events", { mode: "append", maxRecords: 5_000, concurrency: 4 })
            for (const record of events("buffer", recordCount)) yield* buffer.offer(record)
            return buffer
          })
        ).pipe(
          Effect.flatMap((buffer) => buffer.stats),
          Effect.provide(client)
        )
      )
    )
    console.log(
      `client benchmark: ${recordCount.toLocaleString("en")} events-like records to a local serve (SQLite, 2 workers), ${process.version}`
    )
    console.log(
      `write:        ${Math.round(recordCount / viaWrite.seconds).toLocaleString("en")} records/s committed ` +
        `(${viaWrite.seconds.toFixed(1)} s; inserted ${viaWrite.value.inserted}, batches ${viaWrite.value.batches}); client peak RSS ${afterWrite} MiB`
    )
    console.log(
      `RecordBuffer: ${Math.round(recordCount / viaBuffer.seconds).toLocaleString("en")} records/s delivered ` +
        `(${viaBuffer.seconds.toFixed(1)} s; delivered ${viaBuffer.value.delivered}, dead-lettered ${viaBuffer.value.deadLettered}); client peak RSS ${peakRssMb()} MiB (whole run)`
    )
  } finally {
    await server.stop()
  }
}

await main()
