/**
 * Processing one claimed job (SPEC §1.4–§1.6): its records (as this node parsed them at acceptance, else parsed from
 * the stored body) are validated against the object's schema as it is now, then in ONE transaction the valid
 * records are applied, every row error is recorded with its rejected record, and the job is marked `completed` with
 * its metrics. A job whose every row is invalid is still `completed`; `failed` is for a job that cannot be processed
 * at all (its object is gone, its body is unreadable, a defect, or it keeps being interrupted).
 *
 * Parsing, validation, and the reads and merge of the rows the records go to run before the transaction opens, so
 * the single SQLite connection is held only for the writes (see `commit`). If processing stops before the commit
 * (interruption at shutdown, a storage error), the transaction rolls back, nothing of the job is applied, and the
 * job goes back to `queued`.
 */
import { ErrorCode, Job, type ObjectSchema, type RowError } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Array as Arr, Cause, Clock, Context, Data, Duration, Effect, Either, Option, Schedule } from "effect"
import { StorageHealth } from "../services/StorageHealth.js"
import {
  type ApplyingJob,
  type ClaimedJob,
  type Completion,
  type GroupBudget,
  JobLease,
  JobsRepo,
  type RowErrorEntry
} from "../storage/JobsRepo.js"
import { ObjectsRepo } from "../storage/ObjectsRepo.js"
import { RecordsRepo, type RowInput, type RowOutcome } from "../storage/RecordsRepo.js"
import { isStorageFault, isTransientFault, storageFaultOf } from "../storage/StorageFault.js"
import { AcceptedRecords } from "./AcceptedRecords.js"
import { checkRecords, definitionText, type KeptBatch, parsed, rejectedRecordText } from "./BatchRecords.js"

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

const defectMessage = (cause: Cause.Cause<unknown>): string => {
  const defect = Cause.squash(cause)
  return defect instanceof Error ? defect.message : String(defect)
}

/** How workers group jobs: what one claim may take, and how long a worker lets small groups fill. */
export interface GroupCommitSettings extends GroupBudget {
  /**
   * After a group that used less than half of the budget, how long the worker waits before claiming again, so that
   * jobs arriving one by one (small batches from many clients) are committed several at a time instead of each in a
   * transaction of its own. Adds at most this much to their latency.
   */
  readonly linger: Duration.Duration
}

/**
 * Group commit: a worker claims the next queued job with the queued jobs of its object after it and applies them in
 * one transaction (see `JobsRepo.claimFollowers`). Default, on both storages: up to 1,000 jobs of 10,000 records in
 * all, and a linger of 5 ms after a small group.
 *
 * On SQLite every acceptance waits for the group transaction holding the one connection, so the budget is also how
 * long an acceptance may wait. It was 5,000 records there while each insert of a group's new rows waited for its ids
 * (`RecordsRepo.insertRows`), which held the transaction open for the HTTP thread's turns: merging upserts × 1,000
 * kept their accept p99 at 120–165 ms with 10,000 records and 91–112 ms with 5,000. With those inserts pipelined,
 * 10,000 against 5,000, alternating four times (`pnpm bench --backends sqlite --operations upsert-batch --sizes 1000
 * --records 100000 --rounds 1`, committed records/s and accept p99): 72,046 / 70,225 / 62,383 / 68,493 and 108 / 71 /
 * 104 / 70 ms, against 59,207 / 59,844 / 58,754 / 56,117 and 49 / 69 / 85 / 123 ms. Upserts × 100 committed alike
 * (34,153 / 35,162 against 32,196 / 35,855). On PostgreSQL acceptances use connections of their own, and the budget
 * made no difference to them (accept p99 90–125 ms at 1,000).
 */
export class GroupCommit extends Context.Reference<GroupCommit>()("server/GroupCommit", {
  defaultValue: (): GroupCommitSettings => ({ jobs: 1_000, records: 10_000, linger: Duration.millis(5) })
}) {}

/** Whether a group used less than half of its budget (the worker then lingers before its next claim). */
export const isSmallGroup = (results: ReadonlyArray<ProcessResult>, settings: GroupCommitSettings): boolean =>
  results.length * 2 < settings.jobs &&
  results.reduce((records, result) => records + (result.metrics?.totalRows ?? 0), 0) * 2 < settings.records

/**
 * The records a job writes: parsed and checked, each with its index in the batch; or serialized already (an append
 * to an object without match keys, prepared off the HTTP thread: `BatchRecords.SerializedBatch`).
 */
type JobRows =
  | { readonly _tag: "Checked"; readonly valid: ReadonlyArray<RowInput> }
  | { readonly _tag: "Serialized"; readonly texts: ReadonlyArray<string> }

const rowCount = (rows: JobRows): number => (rows._tag === "Checked" ? rows.valid.length : rows.texts.length)

/** A claimed job ready for its group's transaction: its records checked against the object's schema. */
interface PreparedJob {
  readonly claimed: ApplyingJob
  /** How many records the batch has. */
  readonly total: number
  readonly rows: JobRows
  /** The row errors found so far, by index (the writes add theirs). */
  readonly rowErrors: Map<number, Array<RowError.RowError>>
  /** A rejected record as the JSON text its row error keeps, by index. */
  readonly recordText: (index: number) => string
  /** The plan's merge key: set for an upsert, undefined for an append. */
  readonly upsertKey: string | undefined
}

/** Consecutive jobs of a group that apply alike, and the effect reading what they touch, answering their writes. */
interface PlannedRun {
  readonly run: Arr.NonEmptyReadonlyArray<PreparedJob>
  readonly plan: Effect.Effect<Effect.Effect<ReadonlyArray<ReadonlyArray<RowOutcome>>>>
}

/**
 * Makes a kept batch ready for its job: parsed records are checked against the object's schema as it is now; a
 * serialized batch is ready when it was checked against that same schema, else (the schema changed since) its job
 * is processed from the stored body (`undefined`).
 */
const prepareRows = (
  claimed: ApplyingJob,
  definition: ObjectSchema.ObjectDefinition,
  batch: KeptBatch
): PreparedJob | undefined => {
  const upsertKey = claimed.matchKey ?? undefined
  if (batch._tag === "Serialized") {
    if (batch.definition !== definitionText(definition)) return undefined
    const texts = new Map(batch.rejected.map(([index, , record]) => [index, record] as const))
    return {
      claimed,
      total: batch.total,
      rows: { _tag: "Serialized", texts: batch.texts },
      rowErrors: new Map(batch.rejected.map(([index, errors]) => [index, [...errors]] as const)),
      recordText: (index) => texts.get(index) ?? "null",
      upsertKey
    }
  }
  const { records } = batch
  const { rowErrors, valid } = checkRecords(definition, upsertKey, records)
  return {
    claimed,
    total: records.length,
    rows: { _tag: "Checked", valid },
    rowErrors,
    recordText: (index) => rejectedRecordText(records[index]),
    upsertKey
  }
}

/** The result of a job completed at `completedAt` with `metrics`. */
const completed = (
  claimed: ApplyingJob,
  outcome: { readonly metrics: Job.JobMetrics; readonly completedAt: number }
): ProcessResult => ({
  jobId: claimed.jobId,
  state: "completed",
  metrics: outcome.metrics,
  latencyMillis: outcome.completedAt - claimed.createdAt
})

/** Processes claimed jobs. */
export class JobProcessor extends Effect.Service<JobProcessor>()("server/JobProcessor", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* JobsRepo
    const objects = yield* ObjectsRepo
    const records = yield* RecordsRepo
    const acceptedRecords = yield* AcceptedRecords
    const storageHealth = yield* StorageHealth

    // The records of the stored body, parsed.
    const storedRecords = (claimed: ClaimedJob) =>
      Effect.map(jobs.body(claimed.jobId), (body) =>
        Option.getOrUndefined(Option.map(Option.flatMap(body, parseRecords), parsed))
      )

    // The records as this node kept them when it accepted the batch, else parsed from the stored body.
    const recordsOf = (claimed: ClaimedJob): Effect.Effect<KeptBatch | undefined> =>
      Effect.flatMap(
        acceptedRecords.take(claimed.jobId),
        Option.match({
          onSome: (kept) => Effect.succeed<KeptBatch | undefined>(kept),
          onNone: () => storedRecords(claimed)
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

    /** Makes a claimed job ready for the group's transaction, or says why it fails instead. */
    const prepare = (
      claimed: ClaimedJob,
      definition: ObjectSchema.ObjectDefinition
    ): Effect.Effect<Either.Either<PreparedJob, string>> =>
      Effect.gen(function* () {
        if (claimed.attempts > maxAttempts) {
          return Either.left(
            `the job was claimed ${maxAttempts} times without completing (crashes or storage errors); not retried`
          )
        }
        const kept = yield* recordsOf(claimed)
        const ready = kept === undefined ? undefined : prepareRows(claimed, definition, kept)
        if (ready !== undefined) return Either.right(ready)
        // A batch serialized under a schema changed since: checked again from its stored body.
        const stored = kept === undefined ? undefined : yield* storedRecords(claimed)
        if (stored === undefined) return Either.left("the stored batch is not a JSON object with records")
        return Either.right(prepareRows(claimed, definition, stored)!)
      })

    /**
     * Plans the prepared jobs of a group, in `sequence` order, as runs of consecutive jobs that apply alike
     * (appends, or upserts by one match key), which share their statements. A run's `plan` reads and merges the rows
     * it touches (`RecordsRepo.planAppendBatches`, `planUpsertBatches`) and answers the effect writing them, with one
     * list of outcomes per job; appends to an object without match keys read nothing, and their rows are built when
     * this is called.
     */
    const planRuns = (
      prepared: Arr.NonEmptyReadonlyArray<PreparedJob>,
      definition: ObjectSchema.ObjectDefinition,
      now: Date
    ): Arr.NonEmptyReadonlyArray<PlannedRun> => {
      const { workspace } = prepared[0].claimed
      const planOf = (run: Arr.NonEmptyReadonlyArray<PreparedJob>) => {
        const upsertKey = run[0].upsertKey
        if (run[0].rows._tag === "Serialized") {
          const batches = run.map(({ rows }) => (rows._tag === "Serialized" ? rows.texts : []))
          return records.planInserts(workspace, definition, batches, now)
        }
        const batches = run.map(({ rows }) => (rows._tag === "Checked" ? rows.valid : []))
        return upsertKey === undefined
          ? records.planAppendBatches(workspace, definition, batches, now)
          : records.planUpsertBatches(workspace, definition, upsertKey, batches, now)
      }
      return Arr.map(
        Arr.groupWith(prepared, (a, b) => a.upsertKey === b.upsertKey && a.rows._tag === b.rows._tag),
        (run): PlannedRun => ({
          run,
          // Nothing to write (every record rejected, e.g. by a match key removed since acceptance): no statement.
          plan: run.every((job) => rowCount(job.rows) === 0)
            ? Effect.succeed(Effect.succeed(run.map(() => [])))
            : planOf(run)
        })
      )
    }

    /**
     * Applies the planned runs of a group in the current transaction, in order (a run reads what the runs before it
     * wrote), each job completed with its own metrics and row errors: `complete` marks them completed (answering the
     * ids of those no longer held). Answers each job's metrics and completion time; fails with `JobLost` when a job
     * is no longer held.
     */
    const writeGroup = (
      runs: ReadonlyArray<PlannedRun>,
      complete: (completions: ReadonlyArray<Completion>, completedAt: Date) => Effect.Effect<ReadonlyArray<string>>
    ) =>
      Effect.gen(function* () {
        const completions: Array<Completion> = []
        for (const { plan, run } of runs) {
          const outcomes = yield* Effect.flatten(plan)
          for (const [i, job] of run.entries()) completions.push(yield* recordOutcomes(job, outcomes[i]!))
        }
        // Completed when its outcome is written, not when its processing began.
        const completedAt = yield* Clock.currentTimeMillis
        const lost = yield* complete(completions, new Date(completedAt))
        if (lost.length > 0) return yield* new JobLost({ jobId: lost[0]! })
        return completions.map(({ metrics }) => ({ metrics, completedAt }))
      })

    /**
     * Applies the prepared jobs of a group in ONE transaction (see `writeGroup`). The first run's reads and merge
     * run before it opens, so that it holds the connection only to write (on SQLite every acceptance waits for it;
     * `RecordsRepo.planUpsertBatches` says why the rows read cannot change in between); later runs read in it, after
     * the writes of the runs before them.
     */
    const commit = (prepared: Arr.NonEmptyReadonlyArray<PreparedJob>, definition: ObjectSchema.ObjectDefinition) =>
      Effect.gen(function* () {
        const [first, ...rest] = planRuns(prepared, definition, new Date(yield* Clock.currentTimeMillis))
        const write = yield* first.plan
        return yield* sql.withTransaction(
          writeGroup([{ run: first.run, plan: Effect.succeed(write) }, ...rest], jobs.completeAll)
        )
      })

    /** Records a prepared job's row errors in the group's transaction; answers its completion (metrics). */
    const recordOutcomes = (job: PreparedJob, outcomes: ReadonlyArray<RowOutcome>) =>
      Effect.gen(function* () {
        const { claimed, recordText, rowErrors, rows, total } = job
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
              // Only a merge or a match key rejects a row: the rows are checked ones.
              if (rows._tag === "Checked") rowErrors.set(rows.valid[i]!.index, [outcome.error])
          }
        })
        const entries: Array<RowErrorEntry> = []
        for (let index = 0; index < total; index++) {
          const errors = rowErrors.get(index)
          if (errors === undefined) continue
          const record = recordText(index)
          errors.forEach((error, i) => {
            entries.push({ error, record: i === 0 ? record : null })
          })
        }
        if (entries.length > 0) yield* jobs.insertRowErrors(claimed.jobId, entries)
        const metrics: Job.JobMetrics = {
          totalRows: total,
          processedRows: total,
          insertedRows,
          updatedRows,
          staleRows,
          invalidRows: rowErrors.size
        }
        return { claimed, metrics, errorCount: entries.length } satisfies Completion
      })

    /** Processes a group (a head job and its followers) to terminal states, with no retry or failure handling. */
    const run = (group: ReadonlyArray<ClaimedJob>) =>
      Effect.gen(function* () {
        const { objectName, workspace } = group[0]!
        const found = yield* objects.get(workspace, objectName)
        if (Option.isNone(found)) {
          return yield* Effect.forEach(group, (claimed) =>
            failJob(claimed, `object "${objectName}" does not exist any more`)
          )
        }
        const definition = found.value
        const results: Array<ProcessResult> = []
        const prepared: Array<PreparedJob> = []
        for (const claimed of group) {
          const ready = yield* prepare(claimed, definition)
          if (Either.isLeft(ready)) results.push(yield* failJob(claimed, ready.left))
          else prepared.push(ready.right)
        }
        if (!Arr.isNonEmptyReadonlyArray(prepared)) return results
        const outcomes = yield* commit(prepared, definition)
        prepared.forEach(({ claimed }, i) => {
          results.push(completed(claimed, outcomes[i]!))
        })
        yield* Effect.logDebug("jobs completed").pipe(
          Effect.annotateLogs({ jobIds: prepared.map(({ claimed }) => claimed.jobId).join(","), group: group.length })
        )
        return results
      })

    // While a group is processed (or backs off) its claim's lease is renewed every third of the lease, outside the
    // group's transaction: a live worker keeps its jobs however long they take.
    const renewEvery = Duration.millis(Math.max(1, Duration.toMillis(yield* JobLease) / 3))
    // A renewal that fails (storage unreachable) is retried at the next turn; if the lease runs out meanwhile,
    // another worker may take the jobs and this worker's outcome is refused (JobLost): never applied twice.
    const renew = (claimed: ClaimedJob) =>
      jobs
        .renewLease(claimed)
        .pipe(Effect.catchAllCause((cause) => Effect.logWarning("renewing a job lease failed", cause)))
    const withLease = <A>(claimed: ClaimedJob, effect: Effect.Effect<A>): Effect.Effect<A> =>
      Effect.scoped(
        Effect.zipRight(Effect.forkScoped(Effect.forever(Effect.delay(renew(claimed), renewEvery))), effect)
      )

    // Without followers the head is processed alone; it is claimed already and must not be left `processing`.
    const claimFollowers = (head: ClaimedJob) =>
      Effect.flatMap(GroupCommit, (budget) => jobs.claimFollowers(head, budget)).pipe(
        Effect.catchAllCause((cause) =>
          Effect.as(Effect.logWarning("claiming a job's followers failed", cause), [] as ReadonlyArray<ClaimedJob>)
        )
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

    const handBack = (group: ReadonlyArray<ClaimedJob>, countAttempt: boolean) =>
      Effect.as(
        Effect.forEach(group, (claimed) => requeueRetried(claimed, countAttempt), { discard: true }),
        group.map((claimed): ProcessResult => ({ jobId: claimed.jobId, state: "requeued" }))
      )

    // A transient storage fault is not the jobs': they go back to the queue after a wait that grows with the faults
    // in a row, without counting the attempt, however long the storage stays down.
    const queueAgainAfterFault = (group: ReadonlyArray<ClaimedJob>, fault: SqlError) =>
      Effect.logWarning("job processing met a storage fault; the jobs are queued again", fault).pipe(
        Effect.zipRight(storageHealth.waitOut(fault)),
        Effect.zipRight(handBack(group, false))
      )

    const processGroup = (group: ReadonlyArray<ClaimedJob>): Effect.Effect<ReadonlyArray<ProcessResult>> =>
      run(group).pipe(
        Effect.onInterrupt(() => Effect.forEach(group, (claimed) => jobs.requeue(claimed, false))),
        // A job no longer held (its lease ran out and another worker took it): nothing of the group was applied; the
        // jobs this claim still holds go back to the queue.
        Effect.catchTag("JobLost", () =>
          Effect.as(
            Effect.forEach(group, (claimed) => jobs.requeue(claimed, false)),
            group.map((claimed): ProcessResult => ({ jobId: claimed.jobId, state: "lost" }))
          )
        ),
        Effect.tap((results) =>
          results.some((result) => result.state === "completed") ? storageHealth.noteCommit : Effect.void
        ),
        Effect.catchAllCause((cause) => {
          const fault = storageFaultOf(cause)
          if (Option.isSome(fault) && isTransientFault(fault.value)) return queueAgainAfterFault(group, fault.value)
          // One job of the group may be the cause: each is processed on its own, as if claimed alone.
          if (group.length > 1) {
            return Effect.logWarning(
              "a group of jobs could not be processed together; processing them one by one",
              cause
            ).pipe(
              Effect.zipRight(Effect.forEach(group, (claimed) => processGroup([claimed]))),
              Effect.map(Arr.flatten)
            )
          }
          const claimed = group[0]!
          return Option.isSome(fault) && claimed.attempts < maxAttempts
            ? Effect.logWarning("job processing hit a storage error; the job is queued again", cause).pipe(
                // The job stays claimed while backing off, so other workers do not retry it at once.
                Effect.zipRight(Effect.sleep(storageRetryBackoff(claimed.attempts))),
                Effect.zipRight(handBack(group, true))
              )
            : Effect.logError("job processing failed", cause).pipe(
                Effect.zipRight(failJob(claimed, `the job could not be processed: ${defectMessage(cause)}`)),
                Effect.map(Arr.of)
              )
        }),
        (processing) => withLease(group[0]!, processing)
      )

    return {
      /**
       * Inline apply (see `BatchAcceptance`): applies the records of a job just claimed in its acceptance's
       * transaction, in the current transaction, and completes it, exactly as a worker processing it alone would.
       * Fails only with defects (a storage error among them), which roll the acceptance back.
       */
      applyNow: (
        job: ApplyingJob,
        batch: KeptBatch,
        definition: ObjectSchema.ObjectDefinition
      ): Effect.Effect<ProcessResult> =>
        Effect.gen(function* () {
          const now = new Date(yield* Clock.currentTimeMillis)
          const ready = prepareRows(job, definition, batch)
          // Never so: the acceptance serializes a batch under the schema it applies it with. Queued instead.
          if (ready === undefined) return yield* Effect.dieMessage("the batch was serialized under another schema")
          const runs = planRuns([ready], definition, now)
          const [outcome] = yield* writeGroup(runs, (completions, at) =>
            Effect.as(jobs.completeApplied(completions[0]!, at), [])
          )
          return completed(job, outcome!)
        }).pipe(Effect.catchTag("JobLost", Effect.die), Effect.orDie),

      /**
       * Processes a claimed job to `completed` or `failed`. Interrupted before its commit, the job goes back to
       * `queued` with nothing applied; after a storage error too (counted as an attempt unless the fault was
       * transient). Never fails.
       */
      process: (claimed: ClaimedJob): Effect.Effect<ProcessResult> =>
        Effect.map(processGroup([claimed]), (results) => results[0]!),

      /**
       * Claims the next job with its followers (group commit, up to `GroupCommit`'s budget) and processes them in one
       * transaction (`None` when no job can be claimed). The claim and the hand-back on interruption are set up
       * without a gap, so an interruption at any point never leaves a job `processing`. If the group cannot be
       * committed together (a defect), its jobs are processed one by one.
       */
      processNext: Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          jobs.claimNext(),
          Option.match({
            onNone: () => Effect.succeed(Option.none<ReadonlyArray<ProcessResult>>()),
            onSome: (head) =>
              Effect.flatMap(claimFollowers(head), (followers) => {
                const group = [head, ...followers]
                return restore(processGroup(group)).pipe(
                  Effect.onInterrupt(() => Effect.forEach(group, (claimed) => jobs.requeue(claimed, false))),
                  Effect.map(Option.some)
                )
              })
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
