/**
 * `QueueConsumer`: the hosted API's queue-consumer recipe as a `Stream` operator. It groups queue messages
 * (`{ record, messageId, ack }`) by count, bytes and age, writes each group with the idempotency key of its message
 * ids (`Keys.queueBatchKey`), runs each message's `ack` only after the service accepted its record (`202`) or its
 * record went to the dead letter, and then, in the background, waits for the jobs and dead-letters the rows they
 * reject. A group that cannot be sent is not acknowledged: the queue delivers it again, and the same message ids give
 * the same key, so the service replays its answer instead of writing the records twice.
 */
import { type Job, Keys } from "@batchwrite/core"
import { Duration, Effect, Metric, Option, Schedule, Sink, Stream } from "effect"
import * as ClientMetrics from "./ClientMetrics.js"
import { DeadLetter, type DeadLetterEntry, fromRowErrors, fromUndelivered } from "./DeadLetter.js"
import { type AcceptedRun, awaitRun, type Collector, type DeliverySettings, sendGroup } from "./Delivery.js"
import { type ConfigurationError, isConfigurationError, type RecordsClientError } from "./Errors.js"
import { RecordsClient } from "./RecordsClient.js"
import type { WriteMode } from "./Write.js"

/** A message of a queue: the record it carries, its id, and how to acknowledge (delete) it. */
export interface QueueMessage<A, E = never, R = never> {
  readonly record: A
  readonly messageId: string
  readonly ack: Effect.Effect<void, E, R>
}

/** How a queue consumer groups and sends, besides its {@link WriteMode}. */
export interface QueueConsumerSettings {
  /** Most messages per group; default 500. */
  readonly maxRecords?: number | undefined
  /** Most bytes of record JSON per group; default 9 MiB. */
  readonly maxBytes?: number | undefined
  /** Send a group at least this often while messages wait; default 1 s. */
  readonly maxAge?: Duration.DurationInput | undefined
  /** Jobs awaited at once, in the background; default 16. */
  readonly awaitConcurrency?: number | undefined
  /** When to retry a failed request; default the client's `retry`. `Schedule.stop` never retries. */
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
  /** How to poll jobs; default: long-poll (`Prefer: wait=20`). */
  readonly poll?: Schedule.Schedule<Job.Job, Job.Job> | undefined
}

/** How a queue consumer writes: a {@link WriteMode} (an upsert needs its `matchKey`) and settings. */
export type QueueConsumerOptions = WriteMode & QueueConsumerSettings

/** What became of one group of messages, once its jobs settled. */
export interface QueueGroupDelivered {
  /** Messages in the group. */
  readonly messages: number
  /** Messages acknowledged: their record was accepted or went to the dead letter. */
  readonly acknowledged: number
  /** Messages left unacknowledged, for the queue to deliver again: their record could not be sent. */
  readonly unacknowledged: number
  /** Records accepted (`202`). */
  readonly accepted: number
  /** Records stored by their job. */
  readonly stored: number
  /** Records sent to the dead letter: refused, rejected by their job, or in a failed job. */
  readonly deadLettered: number
  /** Records accepted whose job outcome could not be read (poll timeout). */
  readonly unconfirmed: number
  /** The jobs of the group. */
  readonly jobIds: ReadonlyArray<string>
}

interface Group<A, E, R> {
  readonly messages: Array<QueueMessage<A, E, R>>
  bytes: number
}

interface SentGroup {
  readonly messages: number
  readonly records: ReadonlyArray<unknown>
  readonly runs: ReadonlyArray<AcceptedRun>
  readonly acknowledged: number
  readonly refused: number
}

const sizeOf = (record: unknown): number => {
  try {
    return (JSON.stringify(record) ?? "").length + 1
  } catch {
    return 0
  }
}

/**
 * Writes a stream of queue messages into `objectName`, acknowledging each message after its record was accepted,
 * and emits what became of each group once its jobs settled. Fails with a {@link ConfigurationError} (a wrong token
 * or object: nothing could be written) after acknowledging what was accepted, and with an `ack`'s failure.
 *
 * ```ts
 * queue.messages.pipe( // Stream<QueueMessage<Event>>
 *   QueueConsumer.deliver("events", { mode: "append", maxRecords: 100, maxAge: "1 second" }),
 *   Stream.runDrain
 * )
 * ```
 */
export const deliver =
  <A>(objectName: string, options: QueueConsumerOptions) =>
  <E, R, AE, AR>(
    messages: Stream.Stream<QueueMessage<A, AE, AR>, E, R>
  ): Stream.Stream<QueueGroupDelivered, E | AE | ConfigurationError, R | AR | RecordsClient | DeadLetter> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const client = yield* RecordsClient
        const deadLetter = yield* DeadLetter
        const mode: WriteMode =
          options.mode === "upsert" ? { mode: "upsert", matchKey: options.matchKey } : { mode: "append" }
        const matchKey = mode.mode === "upsert" ? mode.matchKey : undefined
        const maxRecords = Math.max(1, options.maxRecords ?? 500)
        const maxBytes = options.maxBytes ?? 9 * 1024 * 1024
        const settings: DeliverySettings = { objectName, mode, retry: options.retry, poll: options.poll }

        const keep = (entries: ReadonlyArray<DeadLetterEntry>) =>
          entries.length === 0
            ? Effect.void
            : deadLetter
                .offerAll(entries)
                .pipe(
                  Effect.orDie,
                  Effect.zipRight(Metric.incrementBy(ClientMetrics.recordsDeadLettered, entries.length))
                )

        const send = (group: Group<A, AE, AR>): Effect.Effect<SentGroup, AE | ConfigurationError, AR> =>
          Effect.gen(function* () {
            const ids = group.messages.map((message) => message.messageId)
            const records = group.messages.map((message) => message.record)
            yield* Metric.incrementBy(ClientMetrics.recordsOffered, records.length)
            const collector: Collector<A> = { runs: [], refused: [] }
            const failure = yield* sendGroup(
              client,
              settings,
              records,
              (firstIndex, count) => Keys.queueBatchKey(ids.slice(firstIndex, firstIndex + count)),
              collector
            )
            // The refused records are kept before their messages are acknowledged.
            yield* keep(collector.refused.map((undelivered) => fromUndelivered(undelivered, matchKey)))
            const done = [
              ...collector.runs.flatMap((run) => group.messages.slice(run.firstIndex, run.firstIndex + run.count)),
              ...collector.refused.map((undelivered) => group.messages[undelivered.inputIndex]!)
            ]
            const accepted = collector.runs.reduce((sum, run) => sum + run.count, 0)
            yield* Metric.incrementBy(ClientMetrics.recordsAccepted, accepted)
            yield* Effect.forEach(done, (message) => message.ack, { concurrency: 16, discard: true })
            if (failure !== undefined) {
              if (isConfigurationError(failure)) return yield* failure
              yield* Effect.logWarning(
                `QueueConsumer: ${objectName}: ${group.messages.length - done.length} messages not sent (${failure._tag}: ${failure.message}); left unacknowledged for the queue to deliver again`
              )
            }
            return {
              messages: group.messages.length,
              records,
              runs: collector.runs,
              acknowledged: done.length,
              refused: collector.refused.length
            }
          }).pipe(
            Effect.withSpan("QueueConsumer.group", {
              attributes: {
                "batchwrite.object": objectName,
                "batchwrite.mode": mode.mode,
                "batchwrite.records": group.messages.length
              }
            })
          )

        const settle = (sent: SentGroup): Effect.Effect<QueueGroupDelivered> =>
          Effect.gen(function* () {
            let stored = 0
            let deadLettered = sent.refused
            let unconfirmed = 0
            for (const run of sent.runs) {
              const outcome = yield* awaitRun(client, settings, run)
              switch (outcome._tag) {
                case "Done":
                  yield* keep(fromRowErrors(objectName, run.jobId, outcome.invalidRows, matchKey))
                  stored += run.count - outcome.invalidRows.length
                  deadLettered += outcome.invalidRows.length
                  break
                case "Failed":
                  yield* keep(
                    sent.records.slice(run.firstIndex, run.firstIndex + run.count).map((record) => ({
                      record,
                      objectName,
                      code: outcome.code,
                      message: outcome.message,
                      jobId: run.jobId,
                      ...(matchKey === undefined ? {} : { matchKey })
                    }))
                  )
                  deadLettered += run.count
                  break
                case "Unconfirmed":
                  unconfirmed += run.count
                  yield* Effect.logWarning(
                    `QueueConsumer: ${objectName}: job ${run.jobId} accepted ${run.count} records but its outcome was not read (${outcome.message}); poll it later`
                  )
              }
            }
            return {
              messages: sent.messages,
              acknowledged: sent.acknowledged,
              unacknowledged: sent.messages - sent.acknowledged,
              accepted: sent.runs.reduce((sum, run) => sum + run.count, 0),
              stored,
              deadLettered,
              unconfirmed,
              jobIds: sent.runs.map((run) => run.jobId)
            }
          })

        const grouping = Sink.fold<Group<A, AE, AR> | undefined, QueueMessage<A, AE, AR>>(
          undefined,
          (group) => group === undefined || (group.messages.length < maxRecords && group.bytes < maxBytes),
          (current, message) => {
            const group = current ?? { messages: [], bytes: 0 }
            group.messages.push(message)
            group.bytes += sizeOf(message.record)
            return group
          }
        )

        return messages.pipe(
          Stream.aggregateWithin(grouping, Schedule.spaced(Duration.decode(options.maxAge ?? "1 second"))),
          Stream.filterMap((group) => Option.fromNullable(group)),
          Stream.mapEffect(send),
          Stream.mapEffect(settle, { concurrency: Math.max(1, options.awaitConcurrency ?? 16), unordered: true })
        )
      })
    )
