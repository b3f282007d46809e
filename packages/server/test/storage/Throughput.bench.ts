/**
 * Throughput of 10,000-row jobs on a real SQLite file: `pnpm exec vitest bench --run test/storage`; on a fresh
 * PostgreSQL database with `BENCH_ADAPTER=postgres`. Each iteration
 * accepts one batch (the 202 transaction) and processes it (parse, validate, apply, commit); the rows/s of the
 * processing alone are printed at the end.
 */
import { Effect, ManagedRuntime, Option } from "effect"
import { afterAll, bench, describe } from "vitest"
import { JobProcessor } from "../../src/jobs/JobProcessor.js"
import { postgres, sqlite } from "../support/Adapters.js"
import { acceptBatch, storageOn } from "./TestStorage.js"

const rows = 10_000
const adapter = process.env.BENCH_ADAPTER === "postgres" ? postgres : sqlite
const runtime = ManagedRuntime.make(storageOn(adapter))
const processing = new Map<string, Array<number>>()

const job = (name: string, batch: (iteration: number) => Parameters<typeof acceptBatch>[0]) => {
  let iteration = 0
  return () =>
    runtime.runPromise(
      Effect.gen(function* () {
        yield* acceptBatch(batch(iteration++))
        const processor = yield* JobProcessor
        const started = performance.now()
        const [result] = Option.getOrThrow(yield* processor.processNext)
        const millis = performance.now() - started
        if (result?.state !== "completed") throw new Error(`job ${result?.state}`)
        processing.set(name, [...(processing.get(name) ?? []), millis])
      })
    )
}

const events = Array.from({ length: rows }, (_, i) => ({
  event: "page_view",
  occurred_at: "2026-04-21T15:00:00Z",
  session_id: `s${i % 97}`,
  url: `https://example.com/p/${i}`,
  user_id: `u${i}`,
  properties: { referrer: "search", n: i }
}))

const profiles = (prefix: string) =>
  Array.from({ length: rows }, (_, i) => ({
    email: `${prefix}${i}@example.com`,
    external_id: `${prefix}-${i}`,
    first_name: "Ann",
    last_name: "Lee",
    tier: i % 2 === 0 ? "gold" : "silver",
    last_seen_at: "2026-04-21T15:00:00Z",
    attributes: { plan: "pro", seats: i % 10 }
  }))

const options = { iterations: 8, warmupIterations: 1, time: 0, warmupTime: 0 }

describe("10,000-row jobs", () => {
  bench(
    "append 10,000 events (no match keys)",
    job("append events", () => ({ workspace: "bench", object: "events", records: events })),
    options
  )
  bench(
    "append 10,000 profiles (two match keys checked)",
    job("append profiles", (i) => ({ workspace: "bench", object: "profiles", records: profiles(`a${i}-`) })),
    options
  )
  bench(
    "upsert 10,000 new profiles (inserts)",
    job("upsert new", (i) => ({
      workspace: "bench",
      object: "profiles",
      matchKey: "email",
      records: profiles(`n${i}-`)
    })),
    options
  )
  const existing = profiles("u-")
  bench(
    "upsert 10,000 existing profiles (updates)",
    job("upsert existing", (i) => ({
      workspace: "bench",
      object: "profiles",
      matchKey: "email",
      records: i === 0 ? existing : existing.map((record) => ({ ...record, tier: `t${i}` }))
    })),
    options
  )
})

afterAll(async () => {
  for (const [name, times] of processing) {
    const sorted = [...times].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]!
    process.stdout.write(
      `${adapter.name} ${name}: processing median ${median.toFixed(1)} ms = ${Math.round((rows / median) * 1000).toLocaleString("en")} rows/s\n`
    )
  }
  await runtime.dispose()
})
