/**
 * `DeadLetter`: where records that cannot be stored go, with why (SPEC §3 "Dead letter"): rows a job reported
 * invalid, records too large alone, batches the service refused or that could not be delivered after retries.
 * Two implementations: an NDJSON file (one entry per line, appended) and memory (for tests and short programs).
 */
import type { RowError } from "@batchwrite/core"
import { FileSystem } from "@effect/platform"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import type { RecordsClientError } from "./Errors.js"
import { RecordsClient } from "./RecordsClient.js"
import type { InvalidRow, Undelivered, WriteMode, WriteSettings, WriteSummary } from "./Write.js"

/**
 * One dead-lettered record: the record, its object, the error code and message, the job if there is one, and the
 * match key if it was upserted.
 */
export const DeadLetterEntry = Schema.Struct({
  record: Schema.Unknown,
  objectName: Schema.String,
  code: Schema.String,
  message: Schema.String,
  jobId: Schema.optionalWith(Schema.String, { exact: true }),
  /** The match key of the upsert the record was sent in; absent for an append. */
  matchKey: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "DeadLetterEntry", description: "A record that was not stored, and why" })

/** One dead-lettered record. */
export type DeadLetterEntry = typeof DeadLetterEntry.Type

/** The dead letter could not be written or read (a file system failure, a line that does not decode). */
export class DeadLetterError extends Schema.TaggedError<DeadLetterError>()("DeadLetterError", {
  message: Schema.String
}) {}

/** The dead-letter service. */
export interface DeadLetterShape {
  /** Keeps these entries, in order. */
  readonly offerAll: (entries: Iterable<DeadLetterEntry>) => Effect.Effect<void, DeadLetterError>
  /** Every entry kept so far, oldest first. */
  readonly entries: Effect.Effect<ReadonlyArray<DeadLetterEntry>, DeadLetterError>
}

/**
 * Where undeliverable records go. Provide {@link DeadLetter.file} in applications; {@link DeadLetter.memory} keeps
 * its entries only as long as the process runs, so they are lost at exit.
 */
export class DeadLetter extends Context.Tag("@batchwrite/client/DeadLetter")<DeadLetter, DeadLetterShape>() {
  /** Entries kept in memory; `entries` reads them back. Lost when the process exits: for tests and short programs. */
  static readonly memory: Layer.Layer<DeadLetter> = Layer.effect(
    DeadLetter,
    Effect.map(Ref.make<ReadonlyArray<DeadLetterEntry>>([]), (ref) => ({
      offerAll: (entries) => Ref.update(ref, (kept) => [...kept, ...entries]),
      entries: Ref.get(ref)
    }))
  )

  /**
   * Entries appended to an NDJSON file, one JSON object per line (created if missing, never truncated). Needs a
   * `FileSystem` (`NodeFileSystem.layer` from `@effect/platform-node`).
   */
  static file(path: string): Layer.Layer<DeadLetter, never, FileSystem.FileSystem> {
    return Layer.effect(
      DeadLetter,
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const lock = yield* Effect.makeSemaphore(1)
        const failed = (action: string) => (cause: unknown) =>
          new DeadLetterError({
            message: `${action} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`
          })
        return {
          offerAll: (entries) =>
            Effect.suspend(() => {
              const text = Array.from(entries, toLine).join("")
              return text.length === 0
                ? Effect.void
                : lock.withPermits(1)(
                    fs.writeFileString(path, text, { flag: "a" }).pipe(Effect.mapError(failed("appending to")))
                  )
            }),
          entries: fs.exists(path).pipe(
            Effect.flatMap((exists) => (exists ? fs.readFileString(path) : Effect.succeed(""))),
            Effect.mapError(failed("reading")),
            Effect.flatMap((text) =>
              Effect.forEach(
                text.split("\n").filter((line) => line.trim().length > 0),
                (line, index) =>
                  decodeLine(line).pipe(
                    Effect.mapError(
                      (error) => new DeadLetterError({ message: `${path} line ${index + 1}: ${error.message}` })
                    )
                  )
              )
            )
          )
        }
      })
    )
  }

  /** Keeps these entries in the dead letter of the context. */
  static offerAll(entries: Iterable<DeadLetterEntry>): Effect.Effect<void, DeadLetterError, DeadLetter> {
    return Effect.flatMap(DeadLetter, (deadLetter) => deadLetter.offerAll(entries))
  }
}

const decodeLine = Schema.decodeUnknown(Schema.parseJson(DeadLetterEntry))

const bigIntAsText = (_key: string, value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value)

/**
 * An entry as one NDJSON line. A record JSON cannot write is kept as near as it can be: BigInts as their digits,
 * anything else (a cycle) as its `String`.
 */
const toLine = (entry: DeadLetterEntry): string => {
  try {
    return `${JSON.stringify(entry, bigIntAsText)}\n`
  } catch {
    return `${JSON.stringify({ ...entry, record: String(entry.record) })}\n`
  }
}

/**
 * The entries of a job's row errors (as `RecordsClient.jobErrors` streams them); `matchKey` for an upsert's, so
 * that a replay upserts them by it again.
 */
export const fromRowErrors = (
  objectName: string,
  jobId: string,
  errors: Iterable<RowError.RowErrorWithRecord>,
  matchKey?: string | undefined
): ReadonlyArray<DeadLetterEntry> =>
  Array.from(errors, (error) => ({
    record: error.record,
    objectName,
    code: error.code,
    message: error.field === null ? error.message : `${error.field}: ${error.message}`,
    jobId,
    ...(matchKey === undefined ? {} : { matchKey })
  }))

/** The entries of a `write`: its undelivered records and its invalid rows; `matchKey` for an upsert's. */
export const fromWriteSummary = (
  objectName: string,
  summary: WriteSummary<unknown>,
  matchKey?: string | undefined
): ReadonlyArray<DeadLetterEntry> => [
  ...summary.deadLetters.map((undelivered) => fromUndelivered(undelivered, matchKey)),
  ...summary.invalidRows.map((row: InvalidRow) => fromRowErrors(objectName, row.jobId, [row], matchKey)[0]!)
]

/** The entry of an undelivered record; `matchKey` for an upsert's. */
export const fromUndelivered = (undelivered: Undelivered<unknown>, matchKey?: string | undefined): DeadLetterEntry => ({
  record: undelivered.record,
  objectName: undelivered.objectName,
  code: undelivered.code,
  message: undelivered.message,
  ...(undelivered.jobId === undefined ? {} : { jobId: undelivered.jobId }),
  ...(matchKey === undefined ? {} : { matchKey })
})

/**
 * Sends the records of the dead letter's entries for `objectName` again, after a person fixed them, through
 * `RecordsClient.write`: with fresh random idempotency keys, so that a batch whose job failed is written anew rather
 * than replayed. The entries stay where they are (an NDJSON file is append-only); what the summary reports as
 * undelivered or invalid can be dead-lettered again.
 */
export const replay = (
  objectName: string,
  options: WriteMode & Omit<WriteSettings, "idempotencyKey">
): Effect.Effect<WriteSummary<unknown>, DeadLetterError | RecordsClientError, DeadLetter | RecordsClient> =>
  Effect.gen(function* () {
    const deadLetter = yield* DeadLetter
    const client = yield* RecordsClient
    const entries = yield* deadLetter.entries
    const records = entries.filter((entry) => entry.objectName === objectName).map((entry) => entry.record)
    return yield* client.write(objectName, records, { ...options, idempotencyKey: () => crypto.randomUUID() })
  })
