/**
 * `RecordBuffer`: a scoped buffer for applications that produce records one at a time (SPEC §3). `offer` puts a
 * record in a bounded mailbox (it waits when the buffer is full); background fibers group the records (by
 * `maxRecords`, `maxBytes`, or a `maxAge` timer) and send each group as soon as the previous one was accepted
 * (`202`: the service applies batches in acceptance order), while the jobs are awaited in a bounded background pool.
 * Upserts may run in `concurrency` partitions, each record routed by a hash of its match-key value, so the records
 * of one key stay in order and two batches in flight never share a key. `track` lets a caller wait for its record's
 * acceptance and, separately, for its outcome; `flush` sends what is buffered now.
 *
 * Every record offered ends delivered, dead-lettered, or (if its job could not be read in time) unconfirmed:
 * `stats` counts each. A wrong token, a missing scope or an unknown object fails the buffer loudly. Closing the
 * scope sends everything still buffered within `closeTimeout`; what cannot be sent by then goes to the dead letter.
 */
import { Batching, type Job, Limits, type RowError } from "@batchwrite/core"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Fiber,
  FiberSet,
  Layer,
  Mailbox,
  Metric,
  Option,
  type Schedule,
  Schema,
  type Scope
} from "effect"
import * as ClientMetrics from "./ClientMetrics.js"
import { DeadLetter, type DeadLetterEntry, fromRowErrors, fromUndelivered } from "./DeadLetter.js"
import {
  type AcceptedRun,
  awaitRun,
  type Collector,
  type DeliverySettings,
  type RunOutcome,
  sendGroup
} from "./Delivery.js"
import {
  type ConfigurationError,
  closeTimeoutCode,
  errorCodeOf,
  InvalidRequest,
  isConfigurationError,
  type RecordsClientError
} from "./Errors.js"
import { RecordsClient } from "./RecordsClient.js"
import type { WriteMode } from "./Write.js"

/** How a buffer groups and sends its records, besides its {@link WriteMode}. */
export interface RecordBufferSettings {
  /** Send a group when this many records are buffered; default 500. */
  readonly maxRecords?: number | undefined
  /**
   * Most records in one group; default 10,000 (the service's limit). A group is sent once it holds `maxRecords`
   * and a send slot is free; while every slot is busy it takes the records that arrive meanwhile, up to this many,
   * so a busy buffer sends fewer, larger batches. Set it to `maxRecords` for groups of exactly that size.
   */
  readonly maxBatchRecords?: number | undefined
  /** Send a group when the buffered records' JSON reaches this many bytes (and never more); default 9 MiB. */
  readonly maxBytes?: number | undefined
  /** Send at least this often while records are buffered; default 5 s. */
  readonly maxAge?: Duration.DurationInput | undefined
  /** Records the buffer holds before `offer` waits; default 10,000. */
  readonly capacity?: number | undefined
  /**
   * Appends: groups sent at once; default 4. Upserts: partitions, each sending one group at a time, each record
   * routed to a partition by a hash of its match-key value (so one key's records stay in order and two batches in
   * flight never share a key); default 1.
   */
  readonly concurrency?: number | undefined
  /** Jobs awaited at once, in the background; default 16. */
  readonly awaitConcurrency?: number | undefined
  /**
   * How long closing may take: what is not sent by then goes to the dead letter (code
   * `CDP_ETL.CLIENT.CLOSE_TIMEOUT`), and jobs not read by then count as unconfirmed. Every send and job of the close
   * shares this one budget; default 25 s (under the 30 s most orchestrators give a process to stop).
   */
  readonly closeTimeout?: Duration.DurationInput | undefined
  /** When to retry a failed request; default the client's `retry`. `Schedule.stop` never retries. */
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
  /** How to poll jobs; default: long-poll (`Prefer: wait=20`), which learns each outcome as soon as it is known. */
  readonly poll?: Schedule.Schedule<Job.Job, Job.Job> | undefined
}

/** How a buffer groups and sends its records: a {@link WriteMode} (an upsert needs its `matchKey`) and settings. */
export type RecordBufferOptions = WriteMode & RecordBufferSettings

/** What a buffer holds and has done. At the end `delivered + deadLettered + unconfirmed` equals `offered`. */
export interface RecordBufferStats {
  /** Records taken by `offer`/`track`. */
  readonly offered: number
  /** Offered and not yet being sent. */
  readonly buffered: number
  /** Being sent: no answer yet. */
  readonly inFlight: number
  /** Accepted by the service (`202`): durable there. */
  readonly accepted: number
  /** Accepted, their job's outcome not yet known. */
  readonly awaiting: number
  /** Accepted and stored: their job is done and did not reject them. */
  readonly delivered: number
  /** Sent to the dead letter: never accepted, rejected by their job, or in a failed job. */
  readonly deadLettered: number
  /** Accepted, but their job's outcome could not be read (the close deadline, the poll timeout). */
  readonly unconfirmed: number
}

/** `offer` after the buffer's scope closed: the record was not taken. */
export class RecordBufferClosed extends Schema.TaggedError<RecordBufferClosed>()("RecordBufferClosed", {
  message: Schema.String
}) {}

/** A tracked record was not accepted: it went to the dead letter with this code and message. */
export class RecordDeadLettered extends Schema.TaggedError<RecordDeadLettered>()("RecordDeadLettered", {
  message: Schema.String,
  code: Schema.String,
  jobId: Schema.optional(Schema.String)
}) {}

/** What became of a tracked record once its job settled. */
export type RecordOutcome =
  /** Stored by its job. */
  | { readonly _tag: "Stored"; readonly jobId: string }
  /** Its job rejected it (the row error says why); it is in the dead letter. */
  | { readonly _tag: "Rejected"; readonly jobId: string; readonly rowError: RowError.RowError }
  /** It was never stored (not accepted, or its job failed); it is in the dead letter. */
  | { readonly _tag: "DeadLettered"; readonly code: string; readonly message: string; readonly jobId?: string }
  /** Accepted, but its job's outcome could not be read before the close deadline or the poll timeout. */
  | { readonly _tag: "Unconfirmed"; readonly jobId: string; readonly message: string }

/** A tracked record: wait for its acceptance, or for its outcome. */
export interface Receipt {
  /** The job of its batch once the service accepted it (`202`, durable); fails if it was dead-lettered instead. */
  readonly accepted: Effect.Effect<string, RecordDeadLettered | ConfigurationError>
  /** Its outcome once its job settled (or it was dead-lettered). */
  readonly settled: Effect.Effect<RecordOutcome, ConfigurationError>
}

/** A running buffer of records of type `A`. */
export interface RecordBuffer<A> {
  /** Buffers a record; waits while the buffer is full. Fails with the buffer's failure once it failed. */
  readonly offer: (record: A) => Effect.Effect<void, RecordBufferClosed | ConfigurationError>
  /** Buffers records in order; waits while the buffer is full. */
  readonly offerAll: (records: Iterable<A>) => Effect.Effect<void, RecordBufferClosed | ConfigurationError>
  /** Buffers a record and gives its {@link Receipt}, to wait for its acceptance or its outcome. */
  readonly track: (record: A) => Effect.Effect<Receipt, RecordBufferClosed | ConfigurationError>
  /**
   * Sends what is buffered now and waits until every record offered before is accepted or dead-lettered (not for
   * their jobs). Fails with the buffer's failure once it failed.
   */
  readonly flush: Effect.Effect<void, RecordBufferClosed | ConfigurationError>
  /** The counts now; after the scope closed, the final counts. */
  readonly stats: Effect.Effect<RecordBufferStats>
}

/** A record in the mailbox, with its receipt's completions when it is tracked. */
interface Item<A> {
  readonly record: A
  readonly tracked: Tracked | undefined
}

interface Tracked {
  readonly accepted: Deferred.Deferred<string, RecordDeadLettered | ConfigurationError>
  readonly settled: Deferred.Deferred<RecordOutcome, ConfigurationError>
}

/** A `flush` in the mailbox: it closes the group it lands in. */
class FlushMark {
  constructor(readonly done: Deferred.Deferred<void>) {}
}

interface Group<A> {
  readonly items: Array<Item<A>>
  bytes: number
  readonly flushes: Array<Deferred.Deferred<void>>
  sealed: boolean
}

const sizeOf = (record: unknown): number => {
  try {
    const text = JSON.stringify(record)
    return text === undefined ? 0 : Batching.utf8Length(text) + 1
  } catch {
    return 0
  }
}

const isFull = (group: Group<unknown>, records: number, bytes: number): boolean =>
  group.sealed || group.items.length >= records || group.bytes >= bytes

/** Items a partition took from its mailbox and has not yet put in a group, in order. */
class Carry<T> {
  private items: Array<T> = []
  private next = 0

  isEmpty(): boolean {
    return this.next >= this.items.length
  }

  pushAll(items: Iterable<T>): void {
    if (this.next > 0 && this.isEmpty()) {
      this.items = []
      this.next = 0
    }
    for (const item of items) this.items.push(item)
  }

  /** Moves items into `group` until it holds `records` records or `bytes` bytes, or a flush seals it. */
  moveInto<A>(this: Carry<Item<A> | FlushMark>, group: Group<A>, records: number, bytes: number): void {
    while (!this.isEmpty() && !isFull(group, records, bytes)) {
      const item = this.items[this.next++]!
      if (item instanceof FlushMark) {
        group.flushes.push(item.done)
        group.sealed = true
      } else {
        group.items.push(item)
        group.bytes += sizeOf(item.record)
      }
    }
    if (this.isEmpty()) {
      this.items = []
      this.next = 0
    }
  }
}

/** FNV-1a of a text: spreads match-key values over partitions. */
const hashText = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * The partition of a record of an upsert by `matchKey`, among `partitions`. Records whose match-key values the
 * service could take for the same key share a partition: strings are compared lower-cased (emails are stored
 * lower-cased), other values as their JSON.
 */
export const partitionOf = (record: unknown, matchKey: string, partitions: number): number => {
  if (partitions <= 1) return 0
  const value =
    typeof record === "object" && record !== null ? (record as Record<string, unknown>)[matchKey] : undefined
  const text = typeof value === "string" ? value.toLowerCase() : value === undefined ? "" : JSON.stringify(value)
  return hashText(text ?? "") % partitions
}

/**
 * A buffer writing into `objectName`, running until its scope closes; closing the scope sends every buffered record
 * and waits for the jobs, within `closeTimeout`. Fails with `InvalidRequest` for an upsert without a match key.
 */
export const make = <A = unknown>(
  objectName: string,
  options: RecordBufferOptions
): Effect.Effect<RecordBuffer<A>, InvalidRequest, RecordsClient | DeadLetter | Scope.Scope> =>
  Effect.gen(function* () {
    if (options.mode === "upsert" && (options.matchKey === undefined || options.matchKey.length === 0)) {
      return yield* new InvalidRequest({ message: "an upsert buffer needs a matchKey" })
    }
    const client = yield* RecordsClient
    const deadLetter = yield* DeadLetter
    const mode: WriteMode =
      options.mode === "upsert" ? { mode: "upsert", matchKey: options.matchKey } : { mode: "append" }
    const matchKey = mode.mode === "upsert" ? mode.matchKey : undefined
    const maxRecords = Math.max(1, Math.min(options.maxRecords ?? 500, Limits.maxRecordsPerBatch))
    const maxBatchRecords = Math.max(
      maxRecords,
      Math.min(options.maxBatchRecords ?? Limits.maxRecordsPerBatch, Limits.maxRecordsPerBatch)
    )
    const maxBytes = options.maxBytes ?? 9 * 1024 * 1024
    const maxAge = Duration.decode(options.maxAge ?? "5 seconds")
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? (mode.mode === "upsert" ? 1 : 4)))
    const partitions = mode.mode === "upsert" ? concurrency : 1
    const sendsPerPartition = mode.mode === "upsert" ? 1 : concurrency
    const awaitConcurrency = Math.max(1, options.awaitConcurrency ?? 16)
    const closeTimeout = Duration.decode(options.closeTimeout ?? "25 seconds")
    const capacity = Math.max(1, Math.ceil((options.capacity ?? 10_000) / partitions))
    const settings: DeliverySettings = { objectName, mode, retry: options.retry, poll: options.poll }
    const attributes = { "batchwrite.object": objectName, "batchwrite.mode": mode.mode }
    const depth = ClientMetrics.bufferDepth.pipe(Metric.tagged("object", objectName))

    const counts = {
      offered: 0,
      buffered: 0,
      inFlight: 0,
      accepted: 0,
      awaiting: 0,
      delivered: 0,
      deadLettered: 0,
      unconfirmed: 0
    }
    /** Set once a configuration error is met: the buffer has failed. */
    let failure: ConfigurationError | undefined
    /** Completed when closing has run out of time. */
    const deadline = yield* Deferred.make<void>()

    const keep = (entries: ReadonlyArray<DeadLetterEntry>) =>
      entries.length === 0
        ? Effect.void
        : deadLetter.offerAll(entries).pipe(
            Effect.catchAll((error) =>
              Effect.logError(
                `RecordBuffer: ${entries.length} dead-letter entries could not be kept (${error.message})`,
                entries
              )
            ),
            Effect.zipRight(Metric.incrementBy(ClientMetrics.recordsDeadLettered, entries.length))
          )

    const entryOf = (record: unknown, code: string, message: string, jobId?: string): DeadLetterEntry => ({
      record,
      objectName,
      code,
      message,
      ...(jobId === undefined ? {} : { jobId }),
      ...(matchKey === undefined ? {} : { matchKey })
    })

    /** Sends a group; resolves when it is accepted (or dead-lettered), with its accepted runs. */
    const send = (
      group: Group<A>
    ): Effect.Effect<{ readonly group: Group<A>; readonly runs: ReadonlyArray<AcceptedRun> }> =>
      Effect.gen(function* () {
        const items = group.items
        const count = items.length
        if (count === 0) return { group, runs: [] }
        const records = items.map((item) => item.record)
        counts.buffered -= count
        counts.inFlight += count
        yield* Metric.set(depth, counts.buffered)
        yield* Metric.incrementBy(ClientMetrics.recordsOffered, count)
        const collector: Collector<A> = { runs: [], refused: [] }
        const late = yield* Deferred.isDone(deadline)
        const error: Stop | undefined =
          failure ??
          (late
            ? pastDeadline
            : yield* sendGroup(client, settings, records, () => crypto.randomUUID(), collector).pipe(
                Effect.raceFirst(Deferred.await(deadline).pipe(Effect.as(pastDeadline)))
              ))
        // What was accepted, even when the deadline cut the send short.
        const runs = [...collector.runs]
        const refused = [...collector.refused]
        const settledIndex = new Uint8Array(count)
        for (const run of runs) settledIndex.fill(1, run.firstIndex, run.firstIndex + run.count)
        for (const undelivered of refused) settledIndex[undelivered.inputIndex] = 1

        let acceptedCount = 0
        for (const run of runs) {
          acceptedCount += run.count
          for (let i = run.firstIndex; i < run.firstIndex + run.count; i++) {
            const tracked = items[i]!.tracked
            if (tracked !== undefined) yield* Deferred.succeed(tracked.accepted, run.jobId)
          }
        }
        const entries: Array<DeadLetterEntry> = refused.map((undelivered) => fromUndelivered(undelivered, matchKey))
        for (const undelivered of refused) {
          yield* deadLettered(items[undelivered.inputIndex]!, undelivered.code, undelivered.message)
        }
        if (error !== undefined) {
          if (isConfigurationError(error) && failure === undefined) {
            failure = error
            yield* Effect.logError(
              `RecordBuffer: ${objectName}: ${error._tag}: ${error.message}; the buffer fails, and what it holds goes to the dead letter`
            )
          }
          const code = error._tag === "PastDeadline" ? closeTimeoutCode : errorCodeOf(error)
          const message = error._tag === "PastDeadline" ? closeTimeoutMessage(closeTimeout) : error.message
          for (let i = 0; i < count; i++) {
            if (settledIndex[i] === 1) continue
            entries.push(entryOf(records[i], code, message))
            const tracked = items[i]!.tracked
            if (tracked !== undefined) {
              if (isConfigurationError(error)) {
                yield* Deferred.fail(tracked.accepted, error)
                yield* Deferred.fail(tracked.settled, error)
              } else {
                yield* deadLettered(items[i]!, code, message)
              }
            }
          }
        }
        yield* keep(entries)
        counts.inFlight -= count
        counts.accepted += acceptedCount
        counts.awaiting += acceptedCount
        counts.deadLettered += count - acceptedCount
        yield* Metric.incrementBy(ClientMetrics.recordsAccepted, acceptedCount)
        return { group, runs }
      }).pipe(
        Effect.withSpan("RecordBuffer.flush", {
          attributes: { ...attributes, "batchwrite.records": group.items.length }
        })
      )

    const deadLettered = (item: Item<A>, code: string, message: string, jobId?: string) =>
      item.tracked === undefined
        ? Effect.void
        : Effect.zipRight(
            Deferred.fail(
              item.tracked.accepted,
              new RecordDeadLettered({ message, code, ...(jobId === undefined ? {} : { jobId }) })
            ),
            Deferred.succeed(item.tracked.settled, {
              _tag: "DeadLettered",
              code,
              message,
              ...(jobId === undefined ? {} : { jobId })
            })
          )

    /** Waits for the jobs of a sent group and settles its records. */
    const settle = ({ group, runs }: { readonly group: Group<A>; readonly runs: ReadonlyArray<AcceptedRun> }) =>
      Effect.forEach(
        runs,
        (run) =>
          Effect.suspend(() =>
            Deferred.isDone(deadline).pipe(
              Effect.flatMap((late) =>
                late
                  ? Effect.succeed<RunOutcome>({ _tag: "Unconfirmed", run, message: closeTimeoutMessage(closeTimeout) })
                  : awaitRun(client, settings, run).pipe(
                      Effect.raceFirst(
                        Deferred.await(deadline).pipe(
                          Effect.as<RunOutcome>({
                            _tag: "Unconfirmed",
                            run,
                            message: closeTimeoutMessage(closeTimeout)
                          })
                        )
                      )
                    )
              )
            )
          ).pipe(Effect.flatMap((outcome) => settleRun(group, outcome))),
        { discard: true }
      )

    const settleRun = (group: Group<A>, outcome: RunOutcome) =>
      Effect.gen(function* () {
        const { run } = outcome
        const items = group.items.slice(run.firstIndex, run.firstIndex + run.count)
        counts.awaiting -= run.count
        switch (outcome._tag) {
          case "Done": {
            const rejected = new Map<number, RowError.RowError>()
            for (const row of outcome.invalidRows) rejected.set(row.index, row)
            yield* keep(fromRowErrors(objectName, run.jobId, outcome.invalidRows, matchKey))
            counts.delivered += run.count - outcome.invalidRows.length
            counts.deadLettered += outcome.invalidRows.length
            for (let i = 0; i < items.length; i++) {
              const tracked = items[i]!.tracked
              if (tracked === undefined) continue
              const rowError = rejected.get(i)
              yield* Deferred.succeed(
                tracked.settled,
                rowError === undefined
                  ? { _tag: "Stored", jobId: run.jobId }
                  : { _tag: "Rejected", jobId: run.jobId, rowError }
              )
            }
            return
          }
          case "Failed": {
            yield* keep(items.map((item) => entryOf(item.record, outcome.code, outcome.message, run.jobId)))
            counts.deadLettered += run.count
            for (const item of items) {
              if (item.tracked !== undefined) {
                yield* Deferred.succeed(item.tracked.settled, {
                  _tag: "DeadLettered",
                  code: outcome.code,
                  message: outcome.message,
                  jobId: run.jobId
                })
              }
            }
            return
          }
          case "Unconfirmed": {
            counts.unconfirmed += run.count
            yield* Effect.logWarning(
              `RecordBuffer: ${objectName}: job ${run.jobId} accepted ${run.count} records but its outcome was not read (${outcome.message}); poll it later`
            )
            for (const item of items) {
              if (item.tracked !== undefined) {
                yield* Deferred.succeed(item.tracked.settled, {
                  _tag: "Unconfirmed",
                  jobId: run.jobId,
                  message: outcome.message
                })
              }
            }
          }
        }
      })

    const mailboxes = yield* Effect.forEach(Array.from({ length: partitions }), () =>
      Mailbox.make<Item<A> | FlushMark>({ capacity, strategy: "suspend" })
    )
    /** Sends and job waits under way, forked by the partitions' loops. */
    const running = yield* FiberSet.make()
    /** Groups being sent at once, per partition. */
    const sendSlots = yield* Effect.forEach(mailboxes, () => Effect.makeSemaphore(sendsPerPartition))
    /** Groups whose jobs are awaited at once (all partitions). */
    const awaitSlots = yield* Effect.makeSemaphore(awaitConcurrency)

    /**
     * One partition: forms a group (until `maxRecords`, `maxBytes`, a flush, or `maxAge` after its first record),
     * waits for a send slot, adds what arrived meanwhile (up to `maxBatchRecords` and `maxBytes`), and sends it;
     * then takes a job-wait slot (so sends stop while every slot waits for jobs) and awaits the jobs in the
     * background. One fiber forms the groups, so a partition's records are sent in offer order.
     */
    const partition = (mailbox: Mailbox.Mailbox<Item<A> | FlushMark>, sendSlot: Effect.Semaphore) =>
      Effect.gen(function* () {
        const carry = new Carry<Item<A> | FlushMark>()
        let ended = false
        let previous: Deferred.Deferred<void> | undefined
        const take = (chunk: Iterable<Item<A> | FlushMark>, done: boolean) => {
          carry.pushAll(chunk)
          ended = ended || done
        }
        while (true) {
          if (carry.isEmpty() && !ended) take(...(yield* mailbox.takeAll))
          if (carry.isEmpty()) break
          const group: Group<A> = { items: [], bytes: 0, flushes: [], sealed: false }
          const due = (yield* Clock.currentTimeMillis) + Duration.toMillis(maxAge)
          while (true) {
            carry.moveInto(group, maxRecords, maxBytes)
            if (isFull(group, maxRecords, maxBytes) || ended) break
            const wait = due - (yield* Clock.currentTimeMillis)
            if (wait <= 0) break
            const more = yield* Effect.timeout(mailbox.takeAll, wait).pipe(Effect.option)
            if (Option.isNone(more)) break
            take(...more.value)
          }
          yield* sendSlot.take(1)
          if (!group.sealed) {
            take(yield* mailbox.clear, false)
            carry.moveInto(group, maxBatchRecords, maxBytes)
          }
          const before = previous
          const sent = yield* Deferred.make<void>()
          previous = sent
          yield* FiberSet.run(
            running,
            Effect.interruptible(send(group)).pipe(
              Effect.tap(() => (before === undefined ? Effect.void : Deferred.await(before))),
              // In order: every group before this one was accepted or dead-lettered.
              Effect.tap(() => Effect.forEach(group.flushes, (done) => Deferred.succeed(done, undefined))),
              Effect.tap(() => Deferred.succeed(sent, undefined)),
              Effect.tap(() => awaitSlots.take(1)),
              Effect.ensuring(sendSlot.release(1)),
              Effect.flatMap((sentGroup) => settle(sentGroup).pipe(Effect.ensuring(awaitSlots.release(1))))
            )
          )
        }
      })

    const fibers = yield* Effect.forEach(mailboxes, (mailbox, i) =>
      Effect.forkDaemon(Effect.interruptible(partition(mailbox, sendSlots[i]!)))
    )

    const close = Effect.gen(function* () {
      yield* Effect.forEach(mailboxes, (mailbox) => mailbox.end, { discard: true })
      const drained = Effect.zipRight(Fiber.joinAll(fibers), FiberSet.awaitEmpty(running))
      // A finalizer runs uninterruptibly: the wait is made interruptible so that the timeout can end it.
      const inTime = yield* drained.pipe(Effect.interruptible, Effect.timeout(closeTimeout), Effect.option)
      if (inTime._tag === "None") {
        yield* Effect.logWarning(
          `RecordBuffer: ${objectName}: closing took more than ${Duration.format(closeTimeout)}; the rest goes to the dead letter`
        )
        yield* Deferred.succeed(deadline, undefined)
        yield* drained
      }
      yield* Metric.set(depth, 0)
    }).pipe(Effect.withSpan("RecordBuffer.close", { attributes }))
    yield* Effect.addFinalizer(() => close)

    const closed = new RecordBufferClosed({ message: `the buffer of ${objectName} is closed` })
    const mailboxOf =
      matchKey === undefined || partitions === 1
        ? () => mailboxes[0]!
        : (record: A) => mailboxes[partitionOf(record, matchKey, partitions)]!

    /** Puts an item in its partition's mailbox: at once when there is room, else waiting for room. */
    const put = (item: Item<A>): Effect.Effect<void, RecordBufferClosed | ConfigurationError> =>
      Effect.suspend((): Effect.Effect<void, RecordBufferClosed | ConfigurationError> => {
        if (failure !== undefined) return Effect.fail(failure)
        const mailbox = mailboxOf(item.record)
        counts.offered++
        counts.buffered++
        if (mailbox.unsafeOffer(item)) return Effect.void
        return Effect.flatMap(mailbox.offer(item), (taken) => {
          if (taken) return Effect.void
          counts.offered--
          counts.buffered--
          return Effect.fail(closed)
        })
      })

    const offer = (record: A) => put({ record, tracked: undefined })

    const offerAll = (records: Iterable<A>) =>
      Effect.forEach(records, (record) => put({ record, tracked: undefined }), { discard: true })

    const track = (record: A) =>
      Effect.gen(function* () {
        const tracked: Tracked = {
          accepted: yield* Deferred.make<string, RecordDeadLettered | ConfigurationError>(),
          settled: yield* Deferred.make<RecordOutcome, ConfigurationError>()
        }
        yield* put({ record, tracked })
        return { accepted: Deferred.await(tracked.accepted), settled: Deferred.await(tracked.settled) }
      })

    const failed = (): Effect.Effect<void, ConfigurationError> =>
      failure === undefined ? Effect.void : Effect.fail(failure)

    const flush: Effect.Effect<void, RecordBufferClosed | ConfigurationError> = Effect.gen(function* () {
      yield* failed()
      const marks = yield* Effect.forEach(mailboxes, (mailbox) =>
        Effect.flatMap(Deferred.make<void>(), (done) =>
          Effect.map(mailbox.offer(new FlushMark(done)), (taken) => ({ taken, done }))
        )
      )
      if (marks.some((mark) => !mark.taken)) return yield* closed
      yield* Effect.forEach(marks, (mark) => Deferred.await(mark.done), { discard: true })
      yield* failed()
    }).pipe(Effect.withSpan("RecordBuffer.flush", { attributes }))

    return {
      offer,
      offerAll,
      track,
      flush,
      stats: Effect.sync((): RecordBufferStats => ({ ...counts }))
    }
  })

const closeTimeoutMessage = (closeTimeout: Duration.Duration) =>
  `not done within the close deadline (closeTimeout ${Duration.format(closeTimeout)})`

/** What stopped a group's send: a client error, or the close deadline. */
type Stop = RecordsClientError | typeof pastDeadline

const pastDeadline = { _tag: "PastDeadline" } as const

/**
 * A layer providing a buffer under `tag`, so one buffer serves a whole application; it closes (sending what it
 * holds, within `closeTimeout`) when the layer's scope closes.
 *
 * ```ts
 * class Events extends Context.Tag("app/Events")<Events, RecordBuffer.RecordBuffer<Event>>() {}
 * const EventsLive = RecordBuffer.layer(Events, "events", { mode: "append" })
 * ```
 */
export const layer = <I, A>(
  tag: Context.Tag<I, RecordBuffer<A>>,
  objectName: string,
  options: RecordBufferOptions
): Layer.Layer<I, InvalidRequest, RecordsClient | DeadLetter> => Layer.scoped(tag, make<A>(objectName, options))

/** The tag of a buffer of `A` records, for {@link layer}: `RecordBuffer.tag<Event>("app/Events")`. */
export const tag = <A>(key: string): Context.Tag<RecordBuffer<A>, RecordBuffer<A>> =>
  Context.GenericTag<RecordBuffer<A>>(key)
