/**
 * Processing one claimed job (SPEC §1.4–§1.6): its records (as this node parsed them at acceptance, else parsed from
 * the stored body) are validated against the object's schema as it is now, then in ONE transaction the valid
 * records are applied, every row error is recorded with its rejected record, and the job is marked `completed` with
 * its metrics. A job whose every row is invalid is still `completed`; `failed` is for a job that cannot be processed
 * at all (its object is gone, its body is unreadable, a defect, or it keeps being interrupted).
 *
 * Parsing and validation run before the transaction opens, so the single SQLite connection is held only for the
 * writes. If processing stops before the commit (interruption at shutdown, a storage error), the transaction rolls
 * back, nothing of the job is applied, and the job goes back to `queued`.
 */
import { ErrorCode, Job, RecordValidation, type RowError } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, Clock, Data, Duration, Effect, Either, Option, Schedule } from "effect"
import { type ClaimedJob, JobLease, JobsRepo, type RowErrorEntry } from "../storage/JobsRepo.js"
import { ObjectsRepo } from "../storage/ObjectsRepo.js"
import { RecordsRepo, type RowInput } from "../storage/RecordsRepo.js"
import { StorageHealth } from "../services/StorageHealth.js"
import { isStorageFault, isTransientFault, storageFaultOf } from "../storage/StorageFault.js"
import { AcceptedRecords } from "./AcceptedRecords.js"

/** What became of a claimed job: `completed` or `failed` (terminal), back in the queue, or taken by another worker. */
export interface ProcessResult {
  readonly jobId: string
  readonly state: "completed" | "failed" | "requeued" | "lost"
  /** The metrics of a `completed` job. */
  readonly metrics?: Job.JobMetrics | undefined
  /** From acceptance to the terminal state, for a `completed` or `failed` job. */
  readonly latencyMillis?: number | undefined
}

/**
 * How many times a job may be claimed before it fails instead of being retried: a job that keeps crashing the
 * process or hitting an error of its statements must not block its object's queue forever. A transient storage
 * fault (a full disk, a lost connection: `isTransientFault`) is not counted: the job waits as long as the storage is
 * down, and is never failed for it.
 */
export const maxAttempts = 10

/**
 * How long a worker waits before handing back a job whose statements the database refused (not a transient fault),
 * by attempt: 0.1 s doubling to at most 30 s (about a minute in all before the job fails).
 */
export const storageRetryBackoff = (attempt: number): Duration.Duration =>
  Duration.millis(Math.min(30_000, 100 * 2 ** Math.max(0, attempt - 1)))

/** The job was no longer `processing` when its outcome was written (another worker owns it now). */
class JobLost extends Data.TaggedError("JobLost")<{ readonly jobId: string }> {}

const parseRecords = (body: string): Option.Option<ReadonlyArray<unknown>> =>
  Option.map(Either.getRight(Job.parseBatchBody(body)), (parsed) => parsed.records)

/**
 * The rejected record as JSON text for the errors endpoint. A value nested too deep for `JSON.stringify` (it is
 * recursive; `JSON.parse` is not) is stored as `null`: its row error still says why it was rejected.
 */
const rejectedRecordText = (record: unknown): string => {
  try {
    return JSON.stringify(record) ?? "null"
  } catch {
    return "null"
  }
}

const defectMessage = (cause: Cause.Cause<unknown>): string => {
  const defect = Cause.squash(cause)
  return defect instanceof Error ? defect.message : String(defect)
}

/** Processes claimed jobs. */
export class JobProcessor extends Effect.Service<JobProcessor>()("server/JobProcessor", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* JobsRepo
    const objects = yield* ObjectsRepo
    const records = yield* RecordsRepo
    const acceptedRecords = yield* AcceptedRecords
    const storageHealth = yield* StorageHealth

    // The records as parsed when this node accepted the batch, else parsed from the stored body.
    const recordsOf = (claimed: ClaimedJob) =>
      Effect.flatMap(
        acceptedRecords.take(claimed.jobId),
        Option.match({
          onSome: (kept) => Effect.succeed<ReadonlyArray<unknown> | undefined>(kept),
          onNone: () =>
            Effect.map(jobs.body(claimed.jobId), (body) => Option.getOrUndefined(Option.flatMap(body, parseRecords)))
        })
      )

    const failJob = (claimed: ClaimedJob, message: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const failed = yield* jobs.fail(claimed, { code: ErrorCode.JobFailed, message }, new Date(now))
        return failed
          ? ({ jobId: claimed.jobId, state: "failed", latencyMillis: now - claimed.createdAt } as const)
          : ({ jobId: claimed.jobId, state: "lost" } as const)
      })

    const run = (claimed: ClaimedJob) =>
      Effect.gen(function* () {
        const { jobId, objectName, workspace } = claimed
        if (claimed.attempts > maxAttempts) {
          return yield* failJob(
            claimed,
            `the job was claimed ${maxAttempts} times without completing (crashes or storage errors); not retried`
          )
        }
        const body = yield* recordsOf(claimed)
        if (body === undefined) return yield* failJob(claimed, "the stored batch is not a JSON object with records")
        const found = yield* objects.get(workspace, objectName)
        if (Option.isNone(found)) return yield* failJob(claimed, `object "${objectName}" does not exist any more`)
        const definition = found.value

        // The plan's merge key (core's `Job.planBatch`): set for an upsert, null for an append.
        const upsertKey = claimed.matchKey ?? undefined
        // A match key removed from the schema since acceptance: every record is rejected (as a removed field is).
        const keyGone =
          upsertKey !== undefined &&
          !definition.matchKeys.includes(upsertKey) &&
          Object.hasOwn(definition.fields, upsertKey)
            ? upsertKey
            : undefined
        const validate = RecordValidation.compileValidator(definition, { matchKey: upsertKey })
        const valid: Array<RowInput> = []
        const rowErrors = new Map<number, Array<RowError.RowError>>()
        for (let index = 0; index < body.length; index++) {
          const result = validate(body[index], index)
          const errors: Array<RowError.RowError> = result._tag === "Invalid" ? [...result.errors] : []
          if (keyGone !== undefined) {
            errors.push({
              index,
              code: ErrorCode.RequestSchema,
              field: keyGone,
              pointer: "/matchKey",
              message: `"${keyGone}" is no longer a match key of object "${objectName}"`
            })
          }
          if (errors.length > 0) rowErrors.set(index, errors)
          else if (result._tag === "Valid") valid.push({ index, record: result.record })
        }

        const now = new Date(yield* Clock.currentTimeMillis)
        // An append's rows are built before the transaction, so that it holds the connection only to write them.
        const write =
          upsertKey === undefined
            ? yield* Effect.sync(() => records.prepareAppend(workspace, definition, valid, now))
            : valid.length === 0
              ? Effect.succeed([])
              : records.upsert(workspace, definition, upsertKey, valid, now)
        const outcome = yield* sql.withTransaction(
          Effect.gen(function* () {
            const outcomes = yield* write
            let insertedRows = 0
            let updatedRows = 0
            let staleRows = 0
            outcomes.forEach((outcome, i) => {
              switch (outcome._tag) {
                case "Inserted":
                  insertedRows++
                  break
                case "Updated":
                  updatedRows++
                  break
                case "Stale":
                  staleRows++
                  break
                case "Rejected":
                  rowErrors.set(valid[i]!.index, [outcome.error])
              }
            })
            const entries: Array<RowErrorEntry> = []
            for (let index = 0; index < body.length; index++) {
              const errors = rowErrors.get(index)
              if (errors === undefined) continue
              const record = rejectedRecordText(body[index])
              errors.forEach((error, i) => {
                entries.push({ error, record: i === 0 ? record : null })
              })
            }
            yield* jobs.insertRowErrors(jobId, entries)
            const metrics: Job.JobMetrics = {
              totalRows: body.length,
              processedRows: body.length,
              insertedRows,
              updatedRows,
              staleRows,
              invalidRows: rowErrors.size
            }
            // Completed when its outcome is written, not when its processing began.
            const completedAt = yield* Clock.currentTimeMillis
            const completed = yield* jobs.complete(claimed, metrics, entries.length, new Date(completedAt))
            if (!completed) return yield* new JobLost({ jobId })
            return { metrics, completedAt }
          })
        )
        yield* Effect.annotateLogs(Effect.logDebug("job completed"), { jobId, ...outcome.metrics })
        return {
          jobId,
          state: "completed",
          metrics: outcome.metrics,
          latencyMillis: outcome.completedAt - claimed.createdAt
        } as const
      })

    // While a job is processed (or backs off) its lease is renewed every third of the lease, outside the job's
    // transaction: a live worker keeps its job however long it takes.
    const renewEvery = Duration.millis(Math.max(1, Duration.toMillis(yield* JobLease) / 3))
    // A renewal that fails (storage unreachable) is retried at the next turn; if the lease runs out meanwhile,
    // another worker may take the job and this worker's outcome is refused (JobLost): never applied twice.
    const renew = (claimed: ClaimedJob) =>
      jobs
        .renewLease(claimed)
        .pipe(Effect.catchAllCause((cause) => Effect.logWarning("renewing a job lease failed", cause)))
    const withLease = <A>(claimed: ClaimedJob, effect: Effect.Effect<A>): Effect.Effect<A> =>
      Effect.scoped(
        Effect.zipRight(Effect.forkScoped(Effect.forever(Effect.delay(renew(claimed), renewEvery))), effect)
      )

    // Handing a job back needs a write too, which fails while the storage is down: retried until it is written (or
    // the claim is lost), so the job is not left `processing` until its lease runs out (and counted as an attempt).
    const requeueRetried = (claimed: ClaimedJob, countAttempt: boolean) =>
      jobs.requeue(claimed, countAttempt).pipe(
        Effect.sandbox,
        Effect.retry({
          schedule: Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds"))),
          while: isStorageFault
        }),
        Effect.unsandbox
      )

    // A transient storage fault is not the job's: it goes back to the queue after a wait that grows with the faults
    // in a row, without counting the attempt, however long the storage stays down.
    const queueAgainAfterFault = (claimed: ClaimedJob, fault: SqlError) =>
      Effect.logWarning("job processing met a storage fault; the job is queued again", fault).pipe(
        Effect.zipRight(storageHealth.noteFault(fault)),
        Effect.zipRight(Effect.flatMap(storageHealth.retryDelay, Effect.sleep)),
        Effect.zipRight(requeueRetried(claimed, false)),
        Effect.as<ProcessResult>({ jobId: claimed.jobId, state: "requeued" })
      )

    const process = (claimed: ClaimedJob): Effect.Effect<ProcessResult> =>
      run(claimed).pipe(
        Effect.onInterrupt(() => jobs.requeue(claimed, false)),
        Effect.catchTag("JobLost", ({ jobId }) => Effect.succeed<ProcessResult>({ jobId, state: "lost" })),
        Effect.tap((result) => (result.state === "completed" ? storageHealth.noteCommit : Effect.void)),
        Effect.catchAllCause((cause) => {
          const fault = storageFaultOf(cause)
          if (Option.isSome(fault) && isTransientFault(fault.value)) return queueAgainAfterFault(claimed, fault.value)
          return Option.isSome(fault) && claimed.attempts < maxAttempts
            ? Effect.logWarning("job processing hit a storage error; the job is queued again", cause).pipe(
                // The job stays claimed while backing off, so other workers do not retry it at once.
                Effect.zipRight(Effect.sleep(storageRetryBackoff(claimed.attempts))),
                Effect.zipRight(requeueRetried(claimed, true)),
                Effect.as<ProcessResult>({ jobId: claimed.jobId, state: "requeued" })
              )
            : Effect.logError("job processing failed", cause).pipe(
                Effect.zipRight(failJob(claimed, `the job could not be processed: ${defectMessage(cause)}`))
              )
        }),
        (processing) => withLease(claimed, processing)
      )

    return {
      /**
       * Processes a claimed job to `completed` or `failed`. Interrupted before its commit, the job goes back to
       * `queued` with nothing applied; after a storage error too (counted as an attempt unless the fault was
       * transient). Never fails.
       */
      process,

      /**
       * Claims the next job and processes it (`None` when no job can be claimed). The claim and the hand-back on
       * interruption are set up without a gap, so an interruption at any point never leaves the job `processing`.
       */
      processNext: Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          jobs.claimNext(),
          Option.match({
            onNone: () => Effect.succeed(Option.none<ProcessResult>()),
            onSome: (claimed) =>
              restore(process(claimed)).pipe(
                Effect.onInterrupt(() => jobs.requeue(claimed, false)),
                Effect.map(Option.some)
              )
          })
        )
      )
    } as const
  }),
  dependencies: [
    JobsRepo.Default,
    ObjectsRepo.Default,
    RecordsRepo.Default,
    AcceptedRecords.Default,
    StorageHealth.Default
  ]
}) {}
