/**
 * `write`: any number of records, from an `Iterable` or a `Stream`, into an object (SPEC §3 "Splitting"). Splits
 * with `core`'s `Batching` within 10,000 records and 10 MB of body actually sent, gives each batch its own
 * idempotency key, sends with bounded concurrency, halves a batch the service answers `413`, waits for every job,
 * and sums it all up: nothing is dropped silently, each record is counted as accepted or dead-lettered, and each
 * row the jobs reject comes back with its record.
 */
import { Batching, ErrorCode, type Job, Keys, Limits, type RowError } from "@batchwrite/core"
import { Chunk, type Duration, Effect, Option, Predicate, type Schedule, Stream } from "effect"
import {
  errorCodeOf,
  InvalidRequest,
  isConfigurationError,
  type RecordsClientError,
  type RequestError
} from "./Errors.js"

/** Records to write: any `Iterable` (read lazily) or `Stream`. */
export type WriteInput<A, E = never, R = never> = Iterable<A> | Stream.Stream<A, E, R>

/**
 * `append` every record as a new row, or `upsert` by `matchKey` (one of the object's `matchKeys`): an upsert
 * without a match key does not compile.
 */
export type WriteMode =
  | { readonly mode: "append"; readonly matchKey?: undefined }
  | { readonly mode: "upsert"; readonly matchKey: string }

/** The mode of a match key that may be absent: an upsert by it, or an append without one. */
export const writeMode = (matchKey: string | undefined): WriteMode =>
  matchKey === undefined ? { mode: "append" } : { mode: "upsert", matchKey }

/** How to write: a {@link WriteMode} and {@link WriteSettings}. */
export type WriteOptions<A = unknown> = WriteMode & WriteSettings<A>

/** How to write, besides the mode. */
export interface WriteSettings<A = unknown> {
  /**
   * Batches in flight at once; default 4 for appends and 1 for upserts. With more than one, batches may be
   * accepted out of input order, so a later record of the input may lose to an earlier one of another batch:
   * raise it for upserts only when no match-key value appears in two batches.
   */
  readonly concurrency?: number | undefined
  /** Jobs awaited at once; default 16. */
  readonly awaitConcurrency?: number | undefined
  /** Most records per batch; default 10,000. */
  readonly maxRecords?: number | undefined
  /** Most bytes per body; default 10,485,760. */
  readonly maxBytes?: number | undefined
  /**
   * What to do when a batch still fails after retries (the service unreachable, a job timeout): `"fail"` the
   * write with that error (default), or `"deadLetter"` the batch's records with the error's code and go on. With
   * `"deadLetter"` a job whose outcome cannot be read is listed in `unconfirmedJobs` (its records are accepted and
   * durable). A {@link ConfigurationError} (`Unauthorized`, `Forbidden`, `NotFound`: a wrong token or object)
   * fails the write either way: every other batch would fail the same.
   */
  readonly onError?: "fail" | "deadLetter" | undefined
  /** The `Idempotency-Key` of a batch; default `Keys.batchIdempotencyKey(batch.records)`. */
  readonly idempotencyKey?: ((batch: Batching.Batch<unknown>) => string) | undefined
  /**
   * Wait for every job and report its outcome (default `true`). With `false` a batch counts as settled once it is
   * accepted: the summary counts accepted and dead-lettered records only, and `jobIds` lists the jobs to poll.
   */
  readonly wait?: boolean | undefined
  /**
   * Keep every rejected row and undelivered record in the summary (default `true`). With `false` the summary only
   * counts them: for inputs with many rejected rows, take them from `onEvent` as they come instead.
   */
  readonly collectRows?: boolean | undefined
  /**
   * Called as the write goes: when a batch is accepted and when a run of the input is settled (its job done, or
   * its records dead-lettered). Events of one run of the input come in that order; runs settle in any order.
   */
  readonly onEvent?: ((event: WriteEvent<A>) => Effect.Effect<void>) | undefined
  /** When to retry a failed request of this write; default the client's `retry`. `Schedule.stop` never retries. */
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
  /** How to poll the jobs of this write; default the client's `poll`. */
  readonly poll?: Schedule.Schedule<Job.Job, Job.Job> | undefined
  /** Long-poll the jobs instead (`Prefer: wait=N`, see `RecordsClient.awaitJob`); default off. */
  readonly longPoll?: Duration.DurationInput | undefined
}

/**
 * What `write` reports as it goes. Each event is about a contiguous run of the input, records `firstIndex` to
 * `firstIndex + count - 1`; every record of the input is in exactly one `Settled` event.
 */
export type WriteEvent<A> = BatchAccepted | RunSettled<A>

/** A batch was accepted (`202`): its records are durable on the service and its job is queued. */
export interface BatchAccepted {
  readonly _tag: "Accepted"
  readonly firstIndex: number
  readonly count: number
  readonly jobId: string
}

/**
 * A run of the input is settled: its job is done (or, without `wait`, accepted), or its records were dead-lettered.
 * `outcome` counts it as the summary does and holds its rejected rows and undelivered records.
 */
export interface RunSettled<A> {
  readonly _tag: "Settled"
  readonly firstIndex: number
  readonly count: number
  /**
   * The batch the input was split into that holds this run: the run itself, or a larger range when the batch was
   * halved after a `413` and its halves settle one by one. A run of the input is written again exactly as before
   * only when it starts at such a batch's start (splitting is greedy from there).
   */
  readonly batch: { readonly firstIndex: number; readonly count: number }
  readonly jobId: string | undefined
  readonly outcome: WriteSummary<A>
}

/** A row a job rejected: the row error, its record, and where the record was in the input. */
export interface InvalidRow extends RowError.RowErrorWithRecord {
  /** The record's index in the input of `write`. */
  readonly inputIndex: number
  readonly jobId: string
}

/** A record that could not be delivered, and why: what a dead letter holds. */
export interface Undelivered<A> {
  /**
   * The record. For a failed job it is read back from the JSON body that was sent: what the service got (a value
   * JSON cannot keep, such as a `Date`, comes back as JSON wrote it).
   */
  readonly record: A
  /** The record's index in the input of `write`. */
  readonly inputIndex: number
  readonly objectName: string
  /** An error code (`CDP_ETL.…`). */
  readonly code: string
  readonly message: string
  /** The job, when a job failed with the record. */
  readonly jobId?: string | undefined
}

/** What `write` did. */
export interface WriteSummary<A> {
  /** Batches accepted (after any halving). */
  readonly batches: number
  /** Records accepted (`202`). */
  readonly accepted: number
  readonly inserted: number
  readonly updated: number
  readonly stale: number
  /** Rows the jobs rejected; each is in `invalidRows`. */
  readonly invalid: number
  /** Records never stored: too large alone, not JSON, refused with their batch, or in a failed job. */
  readonly deadLettered: number
  /** Every rejected row with its record, in input order. */
  readonly invalidRows: ReadonlyArray<InvalidRow>
  /** Every undelivered record with the reason, in input order. */
  readonly deadLetters: ReadonlyArray<Undelivered<A>>
  /** The jobs of the accepted batches. */
  readonly jobIds: ReadonlyArray<string>
  /** Jobs accepted whose outcome could not be read (only with `onError: "deadLetter"`); poll them later. */
  readonly unconfirmedJobs: ReadonlyArray<string>
}

/** What `write` needs of the client. */
export interface BatchSender {
  readonly sendBatch: (
    objectName: string,
    batch: Batching.Batch<unknown>,
    options: {
      readonly idempotencyKey: string
      readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
    }
  ) => Effect.Effect<{ readonly jobId: string; readonly acceptedRecords: number }, RequestError>
  readonly awaitJob: (
    job: { readonly objectName: string; readonly jobId: string },
    options: {
      readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
      readonly schedule?: Schedule.Schedule<Job.Job, Job.Job> | undefined
      readonly longPoll?: Duration.DurationInput | undefined
    }
  ) => Effect.Effect<
    {
      readonly jobId: string
      readonly metrics: {
        readonly insertedRows: number
        readonly updatedRows: number
        readonly staleRows: number
        readonly invalidRows: number
      }
    },
    RecordsClientError
  >
  readonly jobErrors: (
    job: { readonly objectName: string; readonly jobId: string },
    options: { readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined }
  ) => Stream.Stream<RowError.RowErrorWithRecord, RequestError>
}

/**
 * A batch the service accepted, while its job runs. It keeps the body that was sent rather than the records: far
 * smaller, and the records are needed again only if the job fails (then they are read back from it).
 */
interface Accepted {
  readonly firstIndex: number
  readonly count: number
  readonly body: string
  readonly jobId: string
  readonly acceptedRecords: number
}

/** A contiguous run of the input that was not stored, record by record with why. */
interface Refused<A> {
  readonly firstIndex: number
  readonly deadLetters: ReadonlyArray<Undelivered<A>>
}

/** What became of one item of the split: the batches accepted (two or more after halving), the runs refused. */
interface Part<A> {
  readonly accepted: ReadonlyArray<Accepted>
  readonly refused: ReadonlyArray<Refused<A>>
}

/** The records of an accepted batch, read back from the body that was sent (they are JSON: they were sent). */
const sentRecords = <A>(accepted: Accepted): ReadonlyArray<A> =>
  (JSON.parse(accepted.body) as { readonly records: ReadonlyArray<A> }).records

const joinParts = <A>(a: Part<A>, b: Part<A>): Part<A> => ({
  accepted: [...a.accepted, ...b.accepted],
  refused: [...a.refused, ...b.refused]
})

const emptySummary = <A>(): WriteSummary<A> => ({
  batches: 0,
  accepted: 0,
  inserted: 0,
  updated: 0,
  stale: 0,
  invalid: 0,
  deadLettered: 0,
  invalidRows: [],
  deadLetters: [],
  jobIds: [],
  unconfirmedJobs: []
})

const deadLettered = <A>(deadLetters: ReadonlyArray<Undelivered<A>>, jobIds: ReadonlyArray<string> = []) => ({
  ...emptySummary<A>(),
  deadLetters,
  deadLettered: deadLetters.length,
  jobIds
})

/**
 * Writes records into `objectName` and sums up the outcome. A batch the service refuses for its content (unknown
 * fields, a malformed record, a record too large alone) and the records of a failed job are dead-lettered with the
 * reason, and the rest goes on. Failures no record can be blamed for (auth, an unknown object, the service
 * unreachable after retries, a job timeout) fail the write, or with `onError: "deadLetter"` dead-letter the batch
 * and go on. Batches already accepted stay accepted either way: a failed write can be run again, and the
 * content-derived keys make the service replay what it already took instead of writing it twice.
 */
export const write = <A, E, R>(
  client: BatchSender,
  objectName: string,
  records: WriteInput<A, E, R>,
  options: WriteOptions<NoInfer<A>>
): Effect.Effect<WriteSummary<A>, E | RecordsClientError, R> => {
  const matchKey = options.mode === "upsert" ? options.matchKey : undefined
  const maxBytes = options.maxBytes ?? Limits.maxBodyBytes
  const limits = { maxRecords: options.maxRecords ?? Limits.maxRecordsPerBatch, maxBytes, matchKey }
  const deadLetterErrors = options.onError === "deadLetter"
  const wait = options.wait ?? true
  const collectRows = options.collectRows ?? true
  const onEvent = options.onEvent ?? (() => Effect.void)
  const keyOf = options.idempotencyKey ?? ((batch: Batching.Batch<unknown>) => Keys.batchIdempotencyKey(batch.records))

  const undelivered = (
    record: A,
    inputIndex: number,
    code: string,
    message: string,
    jobId: string | undefined
  ): Undelivered<A> => ({ record, inputIndex, objectName, code, message, ...(jobId === undefined ? {} : { jobId }) })

  const refused = (batch: Batching.Batch<A>, code: string, message: string): Part<A> => ({
    accepted: [],
    refused: [
      {
        firstIndex: batch.firstIndex,
        deadLetters: batch.records.map((record, i) =>
          undelivered(record, batch.firstIndex + i, code, message, undefined)
        )
      }
    ]
  })

  const send = (batch: Batching.Batch<A>): Effect.Effect<Part<A>, RequestError> =>
    Effect.suspend(() => sendWithKey(batch, keyOf(batch)))

  const sendWithKey = (batch: Batching.Batch<A>, idempotencyKey: string): Effect.Effect<Part<A>, RequestError> =>
    client.sendBatch(objectName, batch, { idempotencyKey, retry: options.retry }).pipe(
      Effect.tap((accepted) =>
        onEvent({ _tag: "Accepted", firstIndex: batch.firstIndex, count: batch.records.length, jobId: accepted.jobId })
      ),
      Effect.map(
        (accepted): Part<A> => ({
          accepted: [
            {
              firstIndex: batch.firstIndex,
              count: batch.records.length,
              body: batch.body,
              jobId: accepted.jobId,
              acceptedRecords: accepted.acceptedRecords
            }
          ],
          refused: []
        })
      ),
      Effect.catchTags({
        PayloadTooLarge: (error) =>
          Option.match(Batching.halve(batch), {
            onNone: () => Effect.succeed(refused(batch, ErrorCode.PayloadTooLarge, error.message)),
            onSome: ([first, second]) => Effect.zipWith(send(first), send(second), joinParts)
          }),
        SchemaMismatch: (error) =>
          Effect.succeed(
            refused(
              batch,
              ErrorCode.RequestSchema,
              `${error.message} (${error.unknownFields.map((field) => field.field).join(", ")})`
            )
          ),
        InvalidRequest: (error) =>
          Effect.succeed(refused(batch, error.code ?? ErrorCode.RequestInvalid, error.message)),
        TooManyRecords: (error) => Effect.succeed(refused(batch, ErrorCode.RequestInvalid, error.message)),
        IdempotencyKeyReused: (error) =>
          Effect.succeed(refused(batch, ErrorCode.IdempotencyKeyReused, `${error.message} (key ${idempotencyKey})`))
      }),
      Effect.catchAll((error) =>
        deadLetterErrors && !isConfigurationError(error)
          ? Effect.succeed(refused(batch, errorCodeOf(error), error.message))
          : Effect.fail(error)
      )
    )

  /** A record that cannot be sent in any batch: dead-lettered with why. */
  const refusedAlone = (item: Batching.Oversized<A> | Batching.Unserializable<A>, code: string, message: string) =>
    Effect.succeed<Part<A>>({
      accepted: [],
      refused: [
        { firstIndex: item.index, deadLetters: [undelivered(item.record, item.index, code, message, undefined)] }
      ]
    })

  const itemPart = (item: Batching.BatchItem<A>): Effect.Effect<Part<A>, RequestError> => {
    switch (item._tag) {
      case "Batch":
        return send(item)
      case "Oversized":
        return refusedAlone(
          item,
          ErrorCode.PayloadTooLarge,
          `the record alone makes a ${item.bytes}-byte body, over the ${maxBytes}-byte limit`
        )
      case "Unserializable":
        return refusedAlone(item, ErrorCode.RequestInvalid, `the record is not JSON: ${item.reason}`)
    }
  }

  /** The job's outcome: its metrics and rejected rows, or its records dead-lettered if it failed. */
  const jobOutcome = (accepted: Accepted): Effect.Effect<WriteSummary<A>, RecordsClientError> => {
    const jobIds = [accepted.jobId]
    const acceptedOnly = { ...emptySummary<A>(), batches: 1, accepted: accepted.acceptedRecords, jobIds }
    if (!wait) return Effect.succeed(acceptedOnly)
    const ref = { objectName, jobId: accepted.jobId }
    return client.awaitJob(ref, { retry: options.retry, schedule: options.poll, longPoll: options.longPoll }).pipe(
      Effect.flatMap((job) =>
        (job.metrics.invalidRows > 0
          ? Stream.runCollect(client.jobErrors(ref, { retry: options.retry }))
          : Effect.succeed(Chunk.empty<RowError.RowErrorWithRecord>())
        ).pipe(
          Effect.map((errors) => ({
            ...acceptedOnly,
            inserted: job.metrics.insertedRows,
            updated: job.metrics.updatedRows,
            stale: job.metrics.staleRows,
            invalid: job.metrics.invalidRows,
            invalidRows: Chunk.toReadonlyArray(errors).map((error) => ({
              ...error,
              inputIndex: accepted.firstIndex + error.index,
              jobId: accepted.jobId
            }))
          }))
        )
      ),
      Effect.catchAll((error) => {
        if (error._tag === "JobFailed") {
          return Effect.succeed(
            deadLettered(
              sentRecords<A>(accepted).map((record, i) =>
                undelivered(record, accepted.firstIndex + i, error.code, error.message, error.jobId)
              ),
              jobIds
            )
          )
        }
        return deadLetterErrors && !isConfigurationError(error)
          ? Effect.succeed({ ...acceptedOnly, unconfirmedJobs: jobIds })
          : Effect.fail(error)
      })
    )
  }

  /** Waits for the jobs of a part (one batch of the split, maybe halved) and sums them up, reporting each run. */
  const settle = (part: Part<A>): Effect.Effect<WriteSummary<A>, RecordsClientError> =>
    Effect.gen(function* () {
      const runs = [
        ...part.refused.map((run) => ({ firstIndex: run.firstIndex, count: run.deadLetters.length })),
        ...part.accepted
      ]
      const batch = {
        firstIndex: Math.min(...runs.map((run) => run.firstIndex)),
        count: runs.reduce((sum, run) => sum + run.count, 0)
      }
      const settled = (firstIndex: number, count: number, jobId: string | undefined, outcome: WriteSummary<A>) =>
        onEvent({ _tag: "Settled", firstIndex, count, batch, jobId, outcome }).pipe(
          Effect.as(collectRows ? outcome : { ...outcome, invalidRows: [], deadLetters: [] })
        )
      let summary = emptySummary<A>()
      for (const run of part.refused) {
        const outcome = deadLettered(run.deadLetters)
        summary = merge(summary, yield* settled(run.firstIndex, run.deadLetters.length, undefined, outcome))
      }
      for (const accepted of part.accepted) {
        const outcome = yield* jobOutcome(accepted)
        summary = merge(summary, yield* settled(accepted.firstIndex, accepted.count, accepted.jobId, outcome))
      }
      return summary
    })

  const items: Stream.Stream<Batching.BatchItem<A>, E, R> = Predicate.hasProperty(records, Stream.StreamTypeId)
    ? (records as Stream.Stream<A, E, R>).pipe(Batching.splitStream(limits))
    : // One batch at a time: `fromIterable` would pull up to 4,096 batches (the whole input) ahead of the sends.
      // (`fromIteratorSucceed` only calls `next`; its type asks for an IterableIterator.)
      Stream.suspend(() =>
        Stream.fromIteratorSucceed(
          Batching.split(records as Iterable<A>, limits)[Symbol.iterator]() as IterableIterator<Batching.BatchItem<A>>,
          1
        )
      )

  if (options.mode === "upsert" && (matchKey === undefined || matchKey.length === 0)) {
    return Effect.fail(new InvalidRequest({ message: "an upsert needs a matchKey" }))
  }
  let offered = 0
  return items.pipe(
    Stream.tap((item) =>
      Effect.sync(() => {
        offered += item._tag === "Batch" ? item.records.length : 1
      })
    ),
    Stream.mapEffect(itemPart, { concurrency: options.concurrency ?? (options.mode === "upsert" ? 1 : 4) }),
    Stream.mapEffect(settle, { concurrency: options.awaitConcurrency ?? 16, unordered: true }),
    Stream.runFold(emptySummary<A>(), merge),
    Effect.map((summary) => ({
      ...summary,
      invalidRows: [...summary.invalidRows].sort((a, b) => a.inputIndex - b.inputIndex),
      deadLetters: [...summary.deadLetters].sort((a, b) => a.inputIndex - b.inputIndex)
    })),
    Effect.tap((summary) =>
      Effect.annotateCurrentSpan({
        "batchwrite.records": offered,
        "batchwrite.accepted": summary.accepted,
        "batchwrite.dead_lettered": summary.deadLettered
      })
    ),
    Effect.withSpan("batchwrite.write", {
      attributes: { "batchwrite.object": objectName, "batchwrite.mode": options.mode }
    })
  )
}

const merge = <A>(a: WriteSummary<A>, b: WriteSummary<A>): WriteSummary<A> => ({
  batches: a.batches + b.batches,
  accepted: a.accepted + b.accepted,
  inserted: a.inserted + b.inserted,
  updated: a.updated + b.updated,
  stale: a.stale + b.stale,
  invalid: a.invalid + b.invalid,
  deadLettered: a.deadLettered + b.deadLettered,
  invalidRows: b.invalidRows.length === 0 ? a.invalidRows : [...a.invalidRows, ...b.invalidRows],
  deadLetters: b.deadLetters.length === 0 ? a.deadLetters : [...a.deadLetters, ...b.deadLetters],
  jobIds: [...a.jobIds, ...b.jobIds],
  unconfirmedJobs: b.unconfirmedJobs.length === 0 ? a.unconfirmedJobs : [...a.unconfirmedJobs, ...b.unconfirmedJobs]
})
