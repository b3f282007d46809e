/**
 * Example: a queue consumer (SQS, Pub/Sub, Kafka…) in a few lines with `QueueConsumer.deliver`: it groups the
 * messages, writes each group with the idempotency key of its message ids (`Keys.queueBatchKey`, the hosted API's
 * recipe), acknowledges each message only after the service accepted its record (`202`), and keeps the rows the
 * jobs reject in an NDJSON dead-letter file. Here the acknowledgements of the first group are lost, so the queue
 * delivers those messages again: the same ids give the same key, and the service replays its answer instead of
 * writing them twice.
 *
 * Run: `BATCHWRITE_URL=… BATCHWRITE_TOKEN=… pnpm exec tsx --conditions=@batchwrite/source examples/QueueConsumer.ts [dead-letter.ndjson]`
 */
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option, Stream } from "effect"
import { DeadLetter, QueueConsumer, RecordsClient } from "../src/index.js"

interface Event {
  readonly event: string
  readonly occurred_at: string
  readonly user_id: string
}

/**
 * A stand-in for SQS: 25 messages (one with a record the service rejects); a received message is invisible until it
 * is acknowledged or its visibility timeout passes; the first acknowledgements of `msg-0`…`msg-9` are lost.
 */
const makeQueue = () => {
  const visible = Array.from({ length: 25 }, (_, n) => ({
    id: `msg-${n}`,
    body: {
      event: "page_view",
      occurred_at: n === 13 ? "yesterday" : "2026-04-21T15:00:00Z",
      user_id: `queue-user-${n}`
    }
  }))
  const inFlight = new Map<string, (typeof visible)[number]>()
  const acknowledged = new Set<string>()
  let deliveries = 0
  const receive = Effect.gen(function* () {
    if (visible.length === 0 && inFlight.size > 0) {
      yield* Effect.sleep("1 second") // the visibility timeout: what was not acknowledged comes back
      visible.push(...inFlight.values())
      inFlight.clear()
    }
    const messages = visible.splice(0, 10)
    for (const message of messages) inFlight.set(message.id, message)
    deliveries += messages.length
    return messages
  })
  const ack = (id: string) =>
    Effect.sync(() => {
      const lost = Number(id.slice(4)) < 10 && deliveries <= 25
      if (lost) return
      inFlight.delete(id)
      acknowledged.add(id)
    })
  /** The queue as a stream of messages, until it is empty. */
  const messages: Stream.Stream<QueueConsumer.QueueMessage<Event>> = Stream.repeatEffectOption(
    Effect.flatMap(receive, (batch) => (batch.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(batch)))
  ).pipe(
    Stream.flattenIterables,
    Stream.map((message) => ({ record: message.body, messageId: message.id, ack: ack(message.id) }))
  )
  return { messages, stats: Effect.sync(() => ({ deliveries, acknowledged: acknowledged.size })) }
}

const program = Effect.gen(function* () {
  const queue = makeQueue()
  const groups = yield* queue.messages.pipe(
    QueueConsumer.deliver("events", { mode: "append", maxRecords: 10, maxAge: "100 millis" }),
    Stream.runCollect
  )
  const jobs = new Set([...groups].flatMap((group) => group.jobIds))
  const deadLettered = [...groups].reduce((sum, group) => sum + group.deadLettered, 0)
  yield* Console.log(
    JSON.stringify({ example: "QueueConsumer", ...(yield* queue.stats), jobs: jobs.size, deadLettered })
  )
})

const deadLetterFile = process.argv[2] ?? "queue-dead-letter.ndjson"

program.pipe(
  Effect.provide(
    Layer.merge(RecordsClient.layerConfig(), DeadLetter.file(deadLetterFile).pipe(Layer.provide(NodeFileSystem.layer)))
  ),
  NodeRuntime.runMain
)
