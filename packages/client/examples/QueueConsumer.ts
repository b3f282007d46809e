/**
 * Example: a queue consumer. It pulls messages in batches, writes each batch with the idempotency key of its message
 * ids (`Keys.queueBatchKey`, the hosted API's recipe), and acknowledges the messages only after the service
 * answered `202`: a crash between the write and the acknowledgement redelivers the messages, and the same ids give
 * the same key, so the service replays its answer instead of writing them twice.
 *
 * Run: `BATCHWRITE_URL=… BATCHWRITE_TOKEN=… pnpm exec tsx --conditions=@batchwrite/source examples/QueueConsumer.ts`
 */
import { Keys } from "@batchwrite/core"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { RecordsClient } from "../src/index.js"

/** A message of the queue: its id and the record it carries. */
interface Message {
  readonly id: string
  readonly body: { readonly event: string; readonly occurred_at: string; readonly user_id: string }
}

/** A stand-in for SQS, Pub/Sub, Kafka…: 25 messages, of which one is delivered twice. */
const makeQueue = () => {
  const pending: Array<Message> = Array.from({ length: 25 }, (_, n) => ({
    id: `msg-${n}`,
    body: { event: "page_view", occurred_at: "2026-04-21T15:00:00Z", user_id: `queue-user-${n}` }
  }))
  let redelivered = false
  return {
    receive: (max: number) => Effect.sync(() => pending.slice(0, max)),
    acknowledge: (ids: ReadonlyArray<string>) =>
      Effect.sync(() => {
        // the first acknowledgement is "lost": the queue delivers those messages again
        if (!redelivered) {
          redelivered = true
          return
        }
        const done = new Set(ids)
        pending.splice(0, pending.length, ...pending.filter((message) => !done.has(message.id)))
      })
  }
}

const program = Effect.gen(function* () {
  const records = yield* RecordsClient
  const queue = makeQueue()
  const jobs = new Set<string>()
  let sent = 0
  while (true) {
    const messages = yield* queue.receive(10)
    if (messages.length === 0) break
    const ids = messages.map((message) => message.id)
    const accepted = yield* records.appendBatch(
      "events",
      messages.map((message) => message.body),
      { idempotencyKey: Keys.queueBatchKey(ids) }
    )
    yield* queue.acknowledge(ids) // only after the 202
    sent += messages.length
    jobs.add(accepted.jobId)
  }
  const inserted = yield* Effect.reduce(jobs, 0, (total, jobId) =>
    Effect.map(records.awaitJob({ objectName: "events", jobId }), (job) => total + job.metrics.insertedRows)
  )
  yield* Console.log(JSON.stringify({ example: "QueueConsumer", sent, jobs: jobs.size, inserted }))
})

program.pipe(Effect.provide(RecordsClient.layerConfig()), NodeRuntime.runMain)
