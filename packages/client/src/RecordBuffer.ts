/**
 * `RecordBuffer`: a scoped buffer for applications that produce records one at a time (SPEC §3). `offer` puts a
 * record in a bounded mailbox (it waits when the buffer is full); a background fiber groups records and flushes a
 * group through `RecordsClient.write` when it reaches `maxRecords` or `maxBytes`, or on a `maxAge` timer even when
 * no record arrives. Closing the scope flushes everything still buffered. Records that cannot be delivered after
 * retries and rows the jobs report invalid go to the `DeadLetter`: every record offered ends up delivered or
 * dead-lettered, and `stats` counts both.
 */
import { Batching, Limits } from "@batchwrite/core"
import { Chunk, Duration, Effect, Fiber, Mailbox, Ref, Schedule, Schema, type Scope, Sink, Stream } from "effect"
import { DeadLetter, type DeadLetterEntry, fromWriteSummary } from "./DeadLetter.js"
import { errorCodeOf, InvalidRequest } from "./Errors.js"
import { RecordsClient } from "./RecordsClient.js"

/** How a buffer groups and sends its records. */
export interface RecordBufferOptions {
  /** `append` or `upsert` (by `matchKey`). */
  readonly mode: "append" | "upsert"
  /** The match key of an upsert. */
  readonly matchKey?: string | undefined
  /** Flush when this many records are buffered; default 500. */
  readonly maxRecords?: number | undefined
  /** Flush when the buffered records' JSON reaches this many bytes; default 9 MiB. */
  readonly maxBytes?: number | undefined
  /** Flush at least this often while records are buffered; default 5 s. */
  readonly maxAge?: Duration.DurationInput | undefined
  /** Records the mailbox holds before `offer` waits; default 10,000. */
  readonly capacity?: number | undefined
  /**
   * Groups flushed at once (append only); default 1. Upserts always flush one group at a time, in offer order, so
   * two in-flight batches never carry the same match-key value and the last offered record wins.
   */
  readonly concurrency?: number | undefined
}

/** What a buffer holds and has done. */
export interface RecordBufferStats {
  /** Offered and not yet being sent (including offers waiting for room). */
  readonly buffered: number
  /** Being sent or awaited. */
  readonly inFlight: number
  /** Accepted by the service and not reported invalid. */
  readonly delivered: number
  /** Sent to the dead letter (invalid rows included). */
  readonly deadLettered: number
}

/** `offer` after the buffer's scope closed: the record was not taken. */
export class RecordBufferClosed extends Schema.TaggedError<RecordBufferClosed>()("RecordBufferClosed", {
  message: Schema.String
}) {}

/** A running buffer. */
export interface RecordBuffer<A> {
  /** Buffers a record; waits while the buffer is full. */
  readonly offer: (record: A) => Effect.Effect<void, RecordBufferClosed>
  /** Buffers records in order; waits while the buffer is full. */
  readonly offerAll: (records: Iterable<A>) => Effect.Effect<void, RecordBufferClosed>
  /** The counts now. */
  readonly stats: Effect.Effect<RecordBufferStats>
}

interface Group<A> {
  readonly records: Chunk.Chunk<A>
  readonly bytes: number
}

const emptyGroup: Group<never> = { records: Chunk.empty(), bytes: 0 }

const sizeOf = (record: unknown): number => {
  try {
    const text = JSON.stringify(record)
    return text === undefined ? 0 : Batching.utf8Length(text)
  } catch {
    return 0
  }
}

/**
 * A buffer writing into `objectName`, running until its scope closes; closing the scope flushes every buffered
 * record and waits for the flushes to finish. Fails with `InvalidRequest` for an upsert without a match key.
 */
export const make = <A>(
  objectName: string,
  options: RecordBufferOptions
): Effect.Effect<RecordBuffer<A>, InvalidRequest, RecordsClient | DeadLetter | Scope.Scope> =>
  Effect.gen(function* () {
    if (options.mode === "upsert" && (options.matchKey === undefined || options.matchKey.length === 0)) {
      return yield* new InvalidRequest({ message: "an upsert buffer needs a matchKey" })
    }
    const client = yield* RecordsClient
    const deadLetter = yield* DeadLetter
    const maxRecords = Math.max(1, options.maxRecords ?? 500)
    const maxBytes = options.maxBytes ?? 9 * 1024 * 1024
    const maxAge = Duration.decode(options.maxAge ?? "5 seconds")
    const concurrency = options.mode === "upsert" ? 1 : Math.max(1, options.concurrency ?? 1)
    const mailbox = yield* Mailbox.make<A>({ capacity: Math.max(1, options.capacity ?? 10_000), strategy: "suspend" })
    const stats = yield* Ref.make<RecordBufferStats>({ buffered: 0, inFlight: 0, delivered: 0, deadLettered: 0 })

    const keep = (entries: ReadonlyArray<DeadLetterEntry>) =>
      entries.length === 0
        ? Effect.void
        : deadLetter
            .offerAll(entries)
            .pipe(
              Effect.catchAll((error) =>
                Effect.logError(
                  `RecordBuffer: ${entries.length} dead-letter entries could not be kept (${error.message})`,
                  entries
                )
              )
            )

    const flush = (group: Group<A>) =>
      Effect.gen(function* () {
        const records = Chunk.toReadonlyArray(group.records)
        const count = records.length
        yield* Ref.update(stats, (s) => ({ ...s, buffered: s.buffered - count, inFlight: s.inFlight + count }))
        const outcome = yield* client
          .write(objectName, records, {
            mode: options.mode,
            matchKey: options.matchKey,
            concurrency: 1,
            maxRecords: Limits.maxRecordsPerBatch,
            onError: "deadLetter"
          })
          .pipe(Effect.either)
        let delivered = 0
        let entries: ReadonlyArray<DeadLetterEntry>
        if (outcome._tag === "Right") {
          const summary = outcome.right
          delivered = summary.accepted - summary.invalid
          entries = fromWriteSummary(objectName, summary)
          if (summary.unconfirmedJobs.length > 0) {
            yield* Effect.logWarning(
              `RecordBuffer: jobs accepted but not confirmed: ${summary.unconfirmedJobs.join(", ")}`
            )
          }
        } else {
          const error = outcome.left
          entries = records.map((record) => ({ record, objectName, code: errorCodeOf(error), message: error.message }))
        }
        yield* keep(entries)
        yield* Ref.update(stats, (s) => ({
          ...s,
          inFlight: s.inFlight - count,
          delivered: s.delivered + delivered,
          deadLettered: s.deadLettered + entries.length
        }))
      })

    const grouping = Sink.fold<Group<A>, A>(
      emptyGroup,
      (group) => group.records.length < maxRecords && group.bytes < maxBytes,
      (group, record) => ({ records: Chunk.append(group.records, record), bytes: group.bytes + sizeOf(record) })
    )

    const fiber = yield* Mailbox.toStream(mailbox).pipe(
      Stream.aggregateWithin(grouping, Schedule.spaced(maxAge)),
      Stream.filter((group) => group.records.length > 0),
      Stream.mapEffect(flush, { concurrency }),
      Stream.runDrain,
      Effect.forkDaemon
    )
    yield* Effect.addFinalizer(() => Effect.zipRight(mailbox.end, Fiber.join(fiber)))

    const closed = new RecordBufferClosed({ message: `the buffer of ${objectName} is closed` })
    const offerAll = (records: Iterable<A>) =>
      Effect.suspend(() => {
        const all = Array.from(records)
        return Ref.update(stats, (s) => ({ ...s, buffered: s.buffered + all.length })).pipe(
          Effect.zipRight(mailbox.offerAll(all)),
          Effect.flatMap((rejected) =>
            rejected.length === 0
              ? Effect.void
              : Ref.update(stats, (s) => ({ ...s, buffered: s.buffered - rejected.length })).pipe(
                  Effect.zipRight(Effect.fail(closed))
                )
          )
        )
      })

    return {
      offer: (record: A) => offerAll([record]),
      offerAll,
      stats: Ref.get(stats)
    }
  })
