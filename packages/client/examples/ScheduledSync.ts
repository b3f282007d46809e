/**
 * Example: a scheduled sync. Every interval it reads the rows a source system changed since the last run and
 * upserts them by `email` with `write`, which splits, sends, waits for the jobs and sums up; rejected rows are kept
 * in an NDJSON dead-letter file for a person to fix.
 *
 * Run: `BATCHWRITE_URL=… BATCHWRITE_TOKEN=… pnpm exec tsx --conditions=@batchwrite/source examples/ScheduledSync.ts [dead-letter.ndjson]`
 */
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Ref, Schedule } from "effect"
import { DeadLetter, fromWriteSummary, RecordsClient } from "../src/index.js"

/** A stand-in for the source system: each run, 40 customers changed, one of them with a bad email. */
const changedSince = (run: number) =>
  Array.from({ length: 40 }, (_, n) => ({
    email: n === 13 ? `customer-${n}-at-example.com` : `customer-${n}@example.com`,
    tier: run % 2 === 0 ? "gold" : "silver",
    last_seen_at: `2026-04-2${run + 1}T10:00:00Z`
  }))

const program = Effect.gen(function* () {
  const records = yield* RecordsClient
  const runs = yield* Ref.make(0)
  const syncOnce = Effect.gen(function* () {
    const run = yield* Ref.getAndUpdate(runs, (n) => n + 1)
    const summary = yield* records.write("profiles", changedSince(run), {
      mode: "upsert",
      matchKey: "email",
      maxRecords: 15,
      concurrency: 1
    })
    yield* DeadLetter.offerAll(fromWriteSummary("profiles", summary))
    const { accepted, inserted, updated, invalid } = summary
    yield* Console.log(JSON.stringify({ example: "ScheduledSync", run, accepted, inserted, updated, invalid }))
  })
  // three runs, one second apart (a real sync would run every few minutes, forever)
  yield* Effect.repeat(syncOnce, Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))))
})

const deadLetterFile = process.argv[2] ?? "sync-dead-letter.ndjson"

program.pipe(
  Effect.provide(
    Layer.merge(RecordsClient.layerConfig(), DeadLetter.file(deadLetterFile).pipe(Layer.provide(NodeFileSystem.layer)))
  ),
  NodeRuntime.runMain
)
