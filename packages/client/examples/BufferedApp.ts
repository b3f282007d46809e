/**
 * Example: a long-running application that records events one at a time through a `RecordBuffer`, with a graceful
 * shutdown: on SIGTERM or SIGINT, `NodeRuntime.runMain` interrupts the program, the buffer's scope closes, and every
 * buffered event is flushed before the process exits.
 *
 * Records that cannot be stored go to an NDJSON dead-letter file, which outlives the process (`DeadLetter.memory` would
 * lose them at exit).
 *
 * Run: `BATCHWRITE_URL=… BATCHWRITE_TOKEN=… pnpm exec tsx --conditions=@batchwrite/source examples/BufferedApp.ts [dead-letter.ndjson]`, then Ctrl-C.
 */
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Schedule } from "effect"
import { DeadLetter, RecordBuffer, RecordsClient } from "../src/index.js"

let stats: Effect.Effect<RecordBuffer.RecordBufferStats> = Effect.never

const app = Effect.gen(function* () {
  const buffer = yield* RecordBuffer.make("events", { mode: "append", maxRecords: 500, maxAge: "5 seconds" })
  stats = buffer.stats
  yield* Console.log("ready")
  let n = 0
  // the app: an event every few milliseconds, until it is stopped
  yield* Effect.suspend(() =>
    buffer.offer({ event: "heartbeat", occurred_at: new Date().toISOString(), user_id: `buffered-${n++}` })
  ).pipe(Effect.repeat(Schedule.spaced("2 millis")))
})

app.pipe(
  // closing the scope flushes the buffer; then report what it did
  Effect.scoped,
  Effect.ensuring(
    Effect.suspend(() => stats).pipe(
      Effect.flatMap((done) => Console.log(JSON.stringify({ example: "BufferedApp", ...done })))
    )
  ),
  Effect.provide(
    Layer.merge(
      RecordsClient.layerConfig(),
      DeadLetter.file(process.argv[2] ?? "buffered-dead-letter.ndjson").pipe(Layer.provide(NodeFileSystem.layer))
    )
  ),
  NodeRuntime.runMain
)
