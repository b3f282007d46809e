/**
 * `write`: any number of records, from an `Iterable` or a `Stream`, into an object (SPEC §3 "Splitting"). Splits
 * with `core`'s `Batching` within 10,000 records and 10 MB of body actually sent, gives each batch its own
 * idempotency key, sends with bounded concurrency, halves a batch the service answers `413`, waits for every job,
 * and sums it all up: nothing is dropped silently, each record is counted as accepted or dead-lettered, and each
 * row the jobs reject comes back with its record.
 */
import { Batching, ErrorCode, Keys, Limits, type RowError } from "@batchwrite/core"
import { Chunk, Effect, Option, Predicate, Stream } from "effect"
import { errorCodeOf, InvalidRequest, type RecordsClientError, type RequestError } from "./Errors.js"

/** Records to write: any `Iterable` (read lazily) or `Stream`. */
export type WriteInput<A, E = never, R = never> = Iterable<A> | Stream.Stream<A, E, R>

/** How to write. */
export interface WriteOptions {
  /** `append` every record as a new row, or `upsert` by `matchKey`. */
  readonly mode: "append" | "upsert"
  /** The match key of an upsert: one of the object's `matchKeys`. */
  readonly matchKey?: string | undefined
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
   * What to do when a batch still fails after retries (the service unreachable, auth, an unknown object):
   * `"fail"` the write with that error (default), or `"deadLetter"` the batch's records with the error's code
   * and go on. With `"deadLetter"` a job whose outcome cannot be read is listed in `unconfirmedJobs` (its records
   * are accepted and durable) and `write` fails only if its input does.
   */
  readonly onError?: "fail" | "deadLetter" | undefined
  /** The `Idempotency-Key` of a batch; default `Keys.batchIdempotencyKey(batch.records)`. */
  readonly idempotencyKey?: ((batch: Batching.Batch<unknown>) => string) | undefined
}

/** A row a job rejected: the row error, its record, and where the record was in the input. */
export interface InvalidRow extends RowError.RowErrorWithRecord {
  /** The record's index in the input of `write`. */
  readonly inputIndex: number
  readonly jobId: string
}

/** A record that could not be delivered, and why: what a dead letter holds. */
export interface Undelivered<A> {
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
    options: { readonly idempotencyKey: string }
  ) => Effect.Effect<{ readonly jobId: string; readonly acceptedRecords: number }, RequestError>
  readonly awaitJob: (job: { readonly objectName: string; readonly jobId: string }) => Effect.Effect<
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
  readonly jobErrors: (job: {
    readonly objectName: string
    readonly jobId: string
  }) => Stream.Stream<RowError.RowErrorWithRecord, RequestError>
}

interface Accepted<A> {
  readonly batch: Batching.Batch<A>
  readonly jobId: string
  readonly acceptedRecords: number
}

interface Part<A> {
  readonly accepted: ReadonlyArray<Accepted<A>>
  readonly deadLetters: ReadonlyArray<Undelivered<A>>
}

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
  options: WriteOptions
): Effect.Effect<WriteSummary<A>, E | RecordsClientError, R> => {
  const matchKey = options.mode === "upsert" ? options.matchKey : undefined
  const maxBytes = options.maxBytes ?? Limits.maxBodyBytes
  const limits = { maxRecords: options.maxRecords ?? Limits.maxRecordsPerBatch, maxBytes, matchKey }
  const deadLetterErrors = options.onError === "deadLetter"
  const keyOf = options.idempotencyKey ?? ((batch: Batching.Batch<unknown>) => Keys.batchIdempotencyKey(batch.records))

  const refused = (batch: Batching.Batch<A>, code: string, message: string, jobId?: string): Part<A> => ({
    accepted: [],
    deadLetters: batch.records.map((record, i) => ({
      record,
      inputIndex: batch.firstIndex + i,
      objectName,
      code,
      message,
      ...(jobId === undefined ? {} : { jobId })
    }))
  })

  const send = (batch: Batching.Batch<A>): Effect.Effect<Part<A>, RequestError> =>
    Effect.suspend(() => sendWithKey(batch, keyOf(batch)))

  const sendWithKey = (batch: Batching.Batch<A>, idempotencyKey: string): Effect.Effect<Part<A>, RequestError> =>
    client.sendBatch(objectName, batch, { idempotencyKey }).pipe(
      Effect.map(
        (accepted): Part<A> => ({
          accepted: [{ batch, jobId: accepted.jobId, acceptedRecords: accepted.acceptedRecords }],
          deadLetters: []
        })
      ),
      Effect.catchTags({
        PayloadTooLarge: (error) =>
          Option.match(Batching.halve(batch), {
            onNone: () => Effect.succeed(refused(batch, ErrorCode.PayloadTooLarge, error.message)),
            onSome: ([first, second]) =>
              Effect.zipWith(send(first), send(second), (a, b) => ({
                accepted: [...a.accepted, ...b.accepted],
                deadLetters: [...a.deadLetters, ...b.deadLetters]
              }))
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
        deadLetterErrors ? Effect.succeed(refused(batch, errorCodeOf(error), error.message)) : Effect.fail(error)
      )
    )

  /** A record that cannot be sent in any batch: dead-lettered with why. */
  const refusedAlone = (
    item: Batching.Oversized<A> | Batching.Unserializable<A>,
    code: string,
    message: string
  ): Part<A> => ({
    accepted: [],
    deadLetters: [{ record: item.record, inputIndex: item.index, objectName, code, message }]
  })

  const itemPart = (item: Batching.BatchItem<A>): Effect.Effect<Part<A>, RequestError> => {
    switch (item._tag) {
      case "Batch":
        return send(item)
      case "Oversized":
        return Effect.succeed(
          refusedAlone(
            item,
            ErrorCode.PayloadTooLarge,
            `the record alone makes a ${item.bytes}-byte body, over the ${maxBytes}-byte limit`
          )
        )
      case "Unserializable":
        return Effect.succeed(refusedAlone(item, ErrorCode.RequestInvalid, `the record is not JSON: ${item.reason}`))
    }
  }

  /** Waits for the jobs of a part and sums them up. */
  const settle = (part: Part<A>): Effect.Effect<WriteSummary<A>, RecordsClientError> =>
    Effect.reduce(
      part.accepted,
      { ...emptySummary<A>(), deadLetters: part.deadLetters, deadLettered: part.deadLetters.length },
      (summary, accepted) =>
        client.awaitJob({ objectName, jobId: accepted.jobId }).pipe(
          Effect.flatMap((job) =>
            (job.metrics.invalidRows > 0
              ? Stream.runCollect(client.jobErrors({ objectName, jobId: accepted.jobId }))
              : Effect.succeed(Chunk.empty<RowError.RowErrorWithRecord>())
            ).pipe(
              Effect.map((errors) =>
                merge(summary, {
                  ...emptySummary<A>(),
                  batches: 1,
                  accepted: accepted.acceptedRecords,
                  inserted: job.metrics.insertedRows,
                  updated: job.metrics.updatedRows,
                  stale: job.metrics.staleRows,
                  invalid: job.metrics.invalidRows,
                  invalidRows: Chunk.toReadonlyArray(errors).map((error) => ({
                    ...error,
                    inputIndex: accepted.batch.firstIndex + error.index,
                    jobId: accepted.jobId
                  })),
                  jobIds: [accepted.jobId]
                })
              )
            )
          ),
          Effect.catchAll((error) => {
            if (error._tag === "JobFailed") {
              const lost = refused(accepted.batch, error.code, error.message, error.jobId)
              return Effect.succeed(
                merge(summary, {
                  ...emptySummary<A>(),
                  deadLetters: lost.deadLetters,
                  deadLettered: lost.deadLetters.length,
                  jobIds: [accepted.jobId]
                })
              )
            }
            return deadLetterErrors
              ? Effect.succeed(
                  merge(summary, {
                    ...emptySummary<A>(),
                    batches: 1,
                    accepted: accepted.acceptedRecords,
                    jobIds: [accepted.jobId],
                    unconfirmedJobs: [accepted.jobId]
                  })
                )
              : Effect.fail(error)
          })
        )
    )

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
  return items.pipe(
    Stream.mapEffect(itemPart, { concurrency: options.concurrency ?? (options.mode === "upsert" ? 1 : 4) }),
    Stream.mapEffect(settle, { concurrency: options.awaitConcurrency ?? 16, unordered: true }),
    Stream.runFold(emptySummary<A>(), merge),
    Effect.map((summary) => ({
      ...summary,
      invalidRows: [...summary.invalidRows].sort((a, b) => a.inputIndex - b.inputIndex),
      deadLetters: [...summary.deadLetters].sort((a, b) => a.inputIndex - b.inputIndex)
    }))
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
