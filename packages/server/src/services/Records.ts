/**
 * Stored records (SPEC §1.9): the synchronous single write, and reads (a page, a stream, one row).
 *
 * A single write that can touch another row (an upsert, or an append carrying a match-key value) takes its place in
 * the acceptance order as a one-record job and waits for it, so it never overtakes an earlier batch (§1.4); when the
 * job is not done within {@link SingleWriteWait}, the answer is the queued job. An append without match-key values touches
 * nothing else and is inserted at once.
 */
import { ExactJson, type Job, Limits, type ObjectSchema, RecordValidation, type StoredRecord } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Either, Exit, Option, type Stream } from "effect"
import { filterValue, type RecordFilter, RecordsRepo } from "../storage/RecordsRepo.js"
import { BatchAcceptance } from "./BatchAcceptance.js"
import { checkMatchKey } from "./BatchIntake.js"
import {
  InvalidRecord,
  MalformedInput,
  malformedCursor,
  type ObjectNotFound,
  RecordNotFound,
  WriteFailed
} from "./Errors.js"
import { Jobs } from "./Jobs.js"
import { Objects } from "./Objects.js"
import { ServiceMetrics } from "./ServiceMetrics.js"

/**
 * How long a single write that goes through the queue waits for its job before answering with the job instead:
 * the longest `Prefer: wait` (30 s) by default.
 */
export class SingleWriteWait extends Context.Reference<SingleWriteWait>()("server/SingleWriteWait", {
  defaultValue: (): Duration.Duration => Duration.seconds(Limits.maxWaitSeconds)
}) {}

/** How a single write applies: `append` (the body is the record) or `upsert` (`{"record", "matchKey"}`). */
export type WriteMode = "append" | "upsert"

/** What a single write did: the row as stored, or the job it is queued as when that did not finish in time. */
export type WriteResult =
  | {
      readonly _tag: "Written"
      readonly outcome: "inserted" | "updated" | "stale"
      readonly record: StoredRecord.StoredRecord
    }
  | { readonly _tag: "Queued"; readonly accepted: Job.AcceptedBatch }

interface ParsedWrite {
  readonly record: RecordValidation.RecordFields
  readonly matchKey: string | undefined
  /** Where the record sits in the body, for row-error pointers: `""` (append) or `/record` (upsert). */
  readonly basePointer: string
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseWrite = (
  text: string,
  mode: WriteMode,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<ParsedWrite, MalformedInput> => {
  let body: unknown
  try {
    body = ExactJson.parse(text)
  } catch (error) {
    return Either.left(new MalformedInput({ message: `the body is not valid JSON: ${(error as Error).message}` }))
  }
  if (mode === "append") {
    return isObject(body)
      ? Either.right({ record: body, matchKey: undefined, basePointer: "" })
      : Either.left(new MalformedInput({ message: "the body must be the record: a JSON object" }))
  }
  if (!isObject(body) || !isObject(body.record)) {
    return Either.left(new MalformedInput({ message: 'an upsert body is {"record": {…}, "matchKey": "…"}' }))
  }
  const record = body.record
  return Either.map(checkMatchKey(body.matchKey, definition), (matchKey) => ({
    record,
    matchKey,
    basePointer: "/record"
  }))
}

/** The match key whose value finds the written row again: the upsert's, else the first the record has a value of. */
const lookupKey = (definition: ObjectSchema.ObjectDefinition, write: ParsedWrite, record: Record<string, unknown>) =>
  write.matchKey ?? definition.matchKeys.find((field) => RecordValidation.hasValue(record[field]))

/** A read of an object's rows: a page (`limit`, `cursor`) and at most one match-key filter from the query. */
export interface ListQuery {
  readonly limit: number
  readonly cursor: string | undefined
  /** The query's other parameters, `{matchKey}={value}`, as sent (at most one is allowed). */
  readonly filters: Filters
}

/** The filter parameters of a read, in the order sent. */
export type Filters = ReadonlyArray<readonly [field: string, value: string]>

/** Stored records. */
export class Records extends Effect.Service<Records>()("server/Records", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const objects = yield* Objects
    const records = yield* RecordsRepo
    const jobs = yield* Jobs
    const acceptance = yield* BatchAcceptance
    const metrics = yield* ServiceMetrics
    const waitSeconds = Duration.toSeconds(yield* SingleWriteWait)

    const writeThroughQueue = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      write: ParsedWrite,
      normalized: RecordValidation.RecordFields
    ) =>
      Effect.gen(function* () {
        const accepted = yield* acceptance.acceptRecord(workspace, definition, write.record, write.matchKey ?? null)
        const finished = yield* jobs
          .awaitFinished(workspace, definition.name, accepted.jobId, waitSeconds, "all")
          .pipe(Effect.orDie)
        if (Option.isNone(finished)) return { _tag: "Queued", accepted } as const
        const job = finished.value
        if (job.state === "failed") return yield* new WriteFailed({ reason: job.failure?.message ?? "job failed" })
        if (job.metrics.invalidRows > 0) {
          return yield* new InvalidRecord({
            errors: job.errors.map((error) => ({
              ...error,
              pointer: error.pointer.replace(/^\/records\/0/, write.basePointer)
            }))
          })
        }
        const key = lookupKey(definition, write, normalized)!
        const page = yield* records
          .list(workspace, definition.name, {
            limit: 1,
            cursor: undefined,
            filter: Option.some({ field: key, value: normalized[key] })
          })
          .pipe(Effect.orDie)
        const stored = page.records[0]
        if (stored === undefined) {
          return yield* Effect.dieMessage(`written record of job ${accepted.jobId} not found by ${key}`)
        }
        const outcome = job.metrics.insertedRows > 0 ? "inserted" : job.metrics.updatedRows > 0 ? "updated" : "stale"
        return { _tag: "Written", outcome, record: stored } as const
      })

    /** The one filter of a read, checked against the object's match keys. */
    const filterOf = (
      definition: ObjectSchema.ObjectDefinition,
      filters: Filters
    ): Either.Either<Option.Option<RecordFilter>, MalformedInput> => {
      if (filters.length > 1 || (filters.length === 1 && !definition.matchKeys.includes(filters[0]![0]))) {
        return Either.left(
          new MalformedInput({
            message: `filter by one match key of '${definition.name}': ${JSON.stringify(definition.matchKeys)}`,
            details: { matchKeys: definition.matchKeys }
          })
        )
      }
      return Either.right(
        Option.map(Option.fromNullable(filters[0]), ([field, text]) => ({
          field,
          value: filterValue(definition, field, text)
        }))
      )
    }

    return {
      /** Writes one record synchronously (the body text as received). */
      write: (
        workspace: string,
        objectName: string,
        mode: WriteMode,
        text: string
      ): Effect.Effect<WriteResult, MalformedInput | InvalidRecord | ObjectNotFound | WriteFailed> =>
        Effect.gen(function* () {
          const definition = yield* objects.find(workspace, objectName)
          const write = yield* parseWrite(text, mode, definition)
          const validation = RecordValidation.validateRecord(definition, write.record, 0, {
            matchKey: write.matchKey,
            basePointer: write.basePointer
          })
          if (validation._tag === "Invalid") return yield* new InvalidRecord({ errors: validation.errors })
          if (lookupKey(definition, write, validation.record) !== undefined) {
            return yield* writeThroughQueue(workspace, definition, write, validation.record)
          }
          // Run to its end and counted at the commit, even when the client goes away meanwhile (as a batch's
          // acceptance is, the exit handler inside the uninterruptible region too; a queued write is counted by its
          // job).
          const record = yield* Effect.uninterruptible(
            Effect.onExit(
              sql.withTransaction(records.insertOne(workspace, definition, validation.record, new Date())),
              (exit) => (Exit.isSuccess(exit) ? metrics.recordAccepted(1) : Effect.void)
            )
          ).pipe(Effect.orDie)
          return { _tag: "Written", outcome: "inserted", record } as const
        }),

      /** A page of an object's rows, oldest first. */
      list: (
        workspace: string,
        objectName: string,
        query: ListQuery
      ): Effect.Effect<StoredRecord.RecordsPage, MalformedInput | ObjectNotFound> =>
        Effect.gen(function* () {
          const definition = yield* objects.find(workspace, objectName)
          const filter = yield* filterOf(definition, query.filters)
          return yield* records
            .list(workspace, objectName, { limit: query.limit, cursor: query.cursor, filter })
            .pipe(malformedCursor)
        }),

      /** Every matching row of an object, oldest first, read page by page. */
      stream: (
        workspace: string,
        objectName: string,
        filters: Filters
      ): Effect.Effect<Stream.Stream<StoredRecord.StoredRecord>, MalformedInput | ObjectNotFound> =>
        Effect.gen(function* () {
          const definition = yield* objects.find(workspace, objectName)
          const filter = yield* filterOf(definition, filters)
          return records.stream(workspace, objectName, { filter })
        }),

      /** One row by its `_id`. */
      get: (
        workspace: string,
        objectName: string,
        id: string
      ): Effect.Effect<StoredRecord.StoredRecord, ObjectNotFound | RecordNotFound> =>
        Effect.gen(function* () {
          yield* objects.find(workspace, objectName)
          return yield* Effect.flatMap(
            records.get(workspace, objectName, id),
            Option.match({
              onNone: () => Effect.fail(new RecordNotFound({ objectName, id })),
              onSome: Effect.succeed
            })
          )
        })
    } as const
  }),
  dependencies: [Objects.Default, RecordsRepo.Default, Jobs.Default, BatchAcceptance.Default, ServiceMetrics.Default]
}) {}
