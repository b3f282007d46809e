/**
 * The durable job queue (SPEC §1.5, §1.6): accepting a batch as a `queued` job in one transaction with its body
 * and idempotency record, claiming jobs for the workers in an order that keeps upserts last-write-wins, recording
 * their outcome and row errors, and the job reads of the API.
 *
 * Order: every job gets the next `sequence` of its workspace when it is accepted. An `ordered` job (an upsert, or
 * an append to an object with match keys) is only claimed when no job of the same workspace and object with a
 * smaller sequence is `queued` or `processing`, so such jobs apply one after another in acceptance order however
 * many workers run. Other jobs are claimed in the order they were created.
 *
 * Many nodes (PostgreSQL): a claim takes its job with `FOR UPDATE SKIP LOCKED`, so workers of any number of nodes
 * never wait for each other nor take the same job. Each claim has a random id and a lease (`lease_until`) that its
 * worker renews while it processes; a job whose lease ran out (its node died) is claimed again by any worker, and
 * outcomes are written only by the claim that holds the job, so a late writer changes nothing.
 *
 * Why the ordered-claim rule holds across nodes: `queue` takes the next `sequence` by updating the workspace's row
 * of `sequences` (and reading it back in the job's insert), which locks that row until the queueing transaction ends.
 * A second acceptance in the workspace waits on the lock and reads the counter only after the first committed
 * (PostgreSQL re-reads the row it waited for, even under READ COMMITTED). So a job is committed, and visible, before any job with a larger sequence of its
 * workspace can even exist, and a claim that sees job 6 also sees job 5 and waits for it
 * (`test/storage/Nodes.test.ts` forces that interleaving).
 * The same lock orders acceptance in real time: a request sent after another's `202` gets a larger sequence.
 */
import { Job, Limits, type RowError } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { Array as Arr, Clock, Context, Duration, Effect, Option } from "effect"
import * as Cursor from "./Cursor.js"
import * as SharedTransactions from "./SharedTransactions.js"
import { executeStatement, isPostgres, rowsPerStatement } from "./Database.js"
import { dieOnSqlError } from "./StorageFault.js"
import { isoTime } from "./Timestamps.js"
import { Topology } from "./Topology.js"

/** A batch to queue: its job, how the job applies, and the exact request body. */
export interface QueueInput {
  readonly jobId: string
  readonly workspace: string
  readonly objectName: string
  readonly plan: Job.BatchPlan
  readonly body: string
  readonly acceptedRecords: number
  readonly createdAt: Date
}

/**
 * How long a claim holds its job without renewal. A worker renews it while processing (every third of it); a node
 * that dies gives its jobs back to the others when their leases run out. Default 30 seconds.
 */
export class JobLease extends Context.Reference<JobLease>()("server/JobLease", {
  defaultValue: (): Duration.Duration => Duration.seconds(30)
}) {}

/** A job a worker claimed: everything needed to process it. */
export interface ClaimedJob {
  readonly jobId: string
  /**
   * The id of this claim, `<host>/<pid>/<uuid>` (which node holds a job shows in the table): only it may write the
   * job's outcome or renew its lease.
   */
  readonly claim: string
  readonly workspace: string
  readonly objectName: string
  readonly operation: Job.Operation
  readonly matchKey: string | null
  readonly sequence: number
  readonly acceptedRecords: number
  /** How many times the job has been claimed, this claim included. */
  readonly attempts: number
  /** When the job was accepted (epoch milliseconds). */
  readonly createdAt: number
}

const claimPrefix = `${hostname()}/${process.pid}/`

/** What applying a job needs of it (a claimed job, or one applied in its acceptance's transaction). */
export type ApplyingJob = Pick<
  ClaimedJob,
  "jobId" | "claim" | "workspace" | "objectName" | "matchKey" | "acceptedRecords" | "createdAt"
>

/** A claim of a job: the job and the claim's id. */
export type ClaimRef = Pick<ClaimedJob, "jobId" | "claim">

/** A job's completion: its claim, its metrics and how many row errors it recorded. */
export interface Completion {
  readonly claimed: ClaimRef
  readonly metrics: Job.JobMetrics
  readonly errorCount: number
}

/** Jobs completed per statement (five parameters each). */
const completionsPerStatement = 500

/** A row error to record, with the rejected record as JSON text (`null` to take it from the row's first error). */
export interface RowErrorEntry {
  readonly error: RowError.RowError
  readonly record: string | null
}

/** Options of {@link JobsRepo} `get`. */
export interface GetOptions {
  /** How many row errors to include in `errors`; default `Limits.maxRowErrorsInline`, `Infinity` for all. */
  readonly errorsLimit?: number | undefined
}

/** Jobs waiting and running. */
export interface QueueDepth {
  readonly queued: number
  readonly processing: number
}

interface JobRow {
  readonly id: string
  readonly object_name: string
  readonly operation: Job.Operation
  readonly sequence: number
  readonly state: Job.JobState
  readonly accepted_records: number
  readonly created_at: number
  readonly started_at: number | null
  readonly completed_at: number | null
  readonly metrics: string | null
  readonly failure: string | null
}

interface ClaimRow {
  readonly id: string
  readonly workspace: string
  readonly object_name: string
  readonly operation: Job.Operation
  readonly match_key: string | null
  readonly sequence: number
  readonly accepted_records: number
  readonly attempts: number
  readonly created_at: number
}

interface ErrorRow {
  readonly position: number
  readonly row_index: number
  readonly code: RowError.RowError["code"]
  readonly field: string | null
  readonly pointer: string
  readonly message: string
  readonly record: string | null
}

const toClaimedJob = (row: ClaimRow, claim: string): ClaimedJob => ({
  jobId: row.id,
  claim,
  workspace: row.workspace,
  objectName: row.object_name,
  operation: row.operation,
  matchKey: row.match_key,
  sequence: Number(row.sequence),
  acceptedRecords: Number(row.accepted_records),
  attempts: Number(row.attempts),
  createdAt: Number(row.created_at)
})

/**
 * How much one claim may take for group commit: at most `jobs` jobs whose records add up to at most `records` (a
 * job over it on its own is still claimed, alone).
 */
export interface GroupBudget {
  readonly jobs: number
  readonly records: number
}

const iso = (millis: number | null): string | null => (millis === null ? null : isoTime(millis))

const toRowError = (row: ErrorRow): RowError.RowError => ({
  index: Number(row.row_index),
  code: row.code,
  field: row.field,
  pointer: row.pointer,
  message: row.message
})

/** The backlog as read from the jobs table: see {@link JobsRepo} `backlogByWorkspace`. */
export interface Backlog {
  readonly records: ReadonlyMap<string, number>
  readonly recentJobs: ReadonlySet<string>
}

/** The durable job queue and the job reads. */
export class JobsRepo extends Effect.Service<JobsRepo>()("server/JobsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const topology = yield* Topology
    const onPostgres = isPostgres(sql)
    // Row-level locking is how several PostgreSQL nodes claim without blocking each other; SQLite has one writer.
    const skipLocked = sql.onDialectOrElse({
      pg: () => sql.literal("FOR UPDATE SKIP LOCKED"),
      orElse: () => sql.literal("")
    })
    // Whether job `j` may be claimed: it is not `ordered`, or no earlier job of its object is queued or processing.
    // One probe per state, each an equality on `state` and a range on `sequence` of `jobs_object_order`, so a
    // blocked job is rejected at the first index entry. (A single `state IN (...)` probe turns `state` into a filter
    // and walks every completed job of the object, per queued job: the claim grew with backlog × history.)
    const claimable = sql.literal(`(j.ordered = 0 OR (NOT EXISTS (
        SELECT 1 FROM jobs p WHERE p.workspace = j.workspace AND p.object_name = j.object_name
        AND p.state = 'queued' AND p.sequence < j.sequence)
      AND NOT EXISTS (
        SELECT 1 FROM jobs p WHERE p.workspace = j.workspace AND p.object_name = j.object_name
        AND p.state = 'processing' AND p.sequence < j.sequence)))`)
    // Jobs left `processing` that a starting node may queue again: on a single node every one, as nothing else can
    // be processing them; on shared storage only those whose lease ran out, as other nodes may be processing theirs.
    const interrupted = (now: number) =>
      topology === "single-node" ? sql`state = 'processing'` : sql`state = 'processing' AND lease_until < ${now}`
    const leaseMillis = Math.max(1, Math.round(Duration.toMillis(yield* JobLease)))

    const claimColumns = sql.literal(
      "id, workspace, object_name, operation, match_key, sequence, accepted_records, attempts, created_at"
    )

    // Accepts of a workspace share transactions: at most 100 batches or 32 MiB of bodies in one.
    const shared = yield* SharedTransactions.make({ writes: 100, bytes: 32 * 1024 * 1024 })
    // The lanes of unordered jobs applied inline on PostgreSQL (see `queueOrApply`), taken in turn.
    const inlineLanes = 4
    let inlineLane = 0

    const held = (claimed: ClaimRef) => sql`id = ${claimed.jobId} AND state = 'processing' AND claim = ${claimed.claim}`

    const findJob = (workspace: string, objectName: string, jobId: string) =>
      Effect.map(
        sql<JobRow>`SELECT id, object_name, operation, sequence, state, accepted_records, created_at, started_at,
          completed_at, metrics, failure FROM jobs
          WHERE id = ${jobId} AND workspace = ${workspace} AND object_name = ${objectName}`,
        Arr.head
      )

    const toJob = (row: JobRow, errors: ReadonlyArray<RowError.RowError>): Job.Job => {
      const metrics: Job.JobMetrics =
        row.metrics === null
          ? {
              totalRows: Number(row.accepted_records),
              processedRows: 0,
              insertedRows: 0,
              updatedRows: 0,
              staleRows: 0,
              invalidRows: 0
            }
          : (JSON.parse(row.metrics) as Job.JobMetrics)
      const job: Job.Job = {
        jobId: row.id,
        operation: row.operation,
        objectName: row.object_name,
        sequence: Number(row.sequence),
        state: row.state,
        acceptedRecords: Number(row.accepted_records),
        createdAt: iso(row.created_at)!,
        startedAt: iso(row.started_at),
        completedAt: iso(row.completed_at),
        metrics,
        errors,
        errorsPath: Job.jobErrorsPath(row.object_name, row.id)
      }
      return row.state === "failed" && row.failure !== null
        ? { ...job, failure: JSON.parse(row.failure) as Job.JobFailure }
        : job
    }

    /** Terminal jobs completed before `before`, at most `limit`, with their row errors: deleted; answers how many. */
    const purgeSome = (before: number, limit: number) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const ids = yield* sql<{ readonly id: string }>`SELECT id FROM jobs
            WHERE state IN ('completed', 'failed') AND completed_at < ${before} LIMIT ${limit}`
          if (ids.length === 0) return 0
          const list = ids.map((row) => row.id)
          yield* sql`DELETE FROM row_errors WHERE job_id IN ${sql.in(list)}`
          yield* sql`DELETE FROM job_bodies WHERE job_id IN ${sql.in(list)}`
          yield* sql`DELETE FROM jobs WHERE id IN ${sql.in(list)}`
          return ids.length
        })
      )

    // The workspace's next sequence, for a job inserted in the same transaction: on PostgreSQL the value (the
    // statement locks the counter's row until the commit), on SQLite the counter read back inside the job's insert
    // (so the insert is not waited for).
    const nextSequence = (workspace: string) => sql`INSERT INTO sequences (workspace, last_sequence)
      VALUES (${workspace}, 1) ON CONFLICT (workspace) DO UPDATE SET last_sequence = sequences.last_sequence + 1`
    const takeSequence = (workspace: string) =>
      onPostgres
        ? Effect.map(
            executeStatement(
              sql,
              sql<{ readonly last_sequence: number }>`${nextSequence(workspace)} RETURNING last_sequence`
            ),
            (rows) => sql`${Number(rows[0]!.last_sequence)}`
          )
        : Effect.as(
            executeStatement(sql, nextSequence(workspace)),
            sql`(SELECT last_sequence FROM sequences WHERE workspace = ${workspace})`
          )
    const queued = sql.literal("'queued'")
    const insertBody = (input: QueueInput) =>
      sql`INSERT INTO job_bodies ${sql.insert({ job_id: input.jobId, body: input.body })}`

    // A job's row: `state` (and `columns` after it) as given.
    const insertJob = (
      input: Omit<QueueInput, "body">,
      sequence: Statement.Fragment,
      state: Statement.Fragment,
      columns: Statement.Fragment = sql.literal("")
    ) => sql`INSERT INTO jobs (id, workspace, object_name, operation, match_key, sequence, ordered,
        accepted_records, created_at, state ${columns}) VALUES (${input.jobId}, ${input.workspace},
        ${input.objectName}, ${input.plan.operation}, ${input.plan.mergeKey}, ${sequence},
        ${input.plan.ordered ? 1 : 0}, ${input.acceptedRecords}, ${input.createdAt.getTime()}, ${state})`

    // Whether a job of the object is queued or processing (one index probe per state, as `claimable`).
    const objectBusy = (workspace: string, objectName: string) =>
      Effect.map(
        sql`SELECT 1 AS busy WHERE EXISTS (SELECT 1 FROM jobs WHERE workspace = ${workspace}
            AND object_name = ${objectName} AND state = 'queued')
          OR EXISTS (SELECT 1 FROM jobs WHERE workspace = ${workspace} AND object_name = ${objectName}
            AND state = 'processing')`,
        (rows) => rows.length > 0
      )

    // The acceptance's statements (see `queue`).
    const insertQueued = <E, R>(input: QueueInput, alsoInTransaction: Effect.Effect<void, E, R>) =>
      Effect.gen(function* () {
        if (onPostgres) {
          // One statement (one round trip) for the body, the sequence and the job; the sequence's row is then
          // held while the idempotency record is written.
          yield* executeStatement(
            sql,
            sql`WITH body AS (INSERT INTO job_bodies (job_id, body) VALUES (${input.jobId}, ${input.body})),
              next AS (${nextSequence(input.workspace)} RETURNING last_sequence)
              ${insertJob(input, sql.literal("(SELECT last_sequence FROM next)"), queued)}`
          )
          yield* alsoInTransaction
          return
        }
        yield* executeStatement(sql, insertBody(input))
        yield* alsoInTransaction
        yield* executeStatement(sql, insertJob(input, yield* takeSequence(input.workspace), queued))
      })

    return {
      /**
       * Queues a batch in ONE transaction: the body as received, then `alsoInTransaction` (the acceptance's idempotency
       * record), then the workspace's next `sequence` and the job (`queued`). Returns after the commit; a failure of
       * any part queues nothing. Batches of one workspace accepted while another commits share the next transaction
       * (`SharedTransactions`: one commit, one WAL flush), each queued as above, in the order they came.
       * The sequence is taken last because its counter row stays locked until the commit (on PostgreSQL): accepts
       * of one workspace wait for each other only for the job's insert and the commit, not for a body of up to
       * 10 MB (the body's key to its job is checked at the commit). The job takes its sequence from the counter
       * inside the statement, so no statement waits for a value from the database (on SQLite the statements go to
       * the connection's thread together). On PostgreSQL the body, the sequence and the job are one statement (a
       * round trip each cost more than the lock's wait for the body's write), then the idempotency record.
       */
      queue: <E, R>(input: QueueInput, alsoInTransaction: Effect.Effect<void, E, R>): Effect.Effect<void, E, R> =>
        shared(input.workspace, input.body.length, dieOnSqlError(insertQueued(input, alsoInTransaction))),

      /**
       * Inline apply: accepts a batch as {@link queue} does, and in the same transaction, when its job may run at
       * once (it is not ordered, or nothing of its object is queued or processing, as a worker's claim requires),
       * inserts its job `processing` under a claim of its own and runs `apply` (which applies its records and
       * completes it with `completeApplied`): answers `apply`'s result. Otherwise the job is queued with its body
       * and `None` is the answer. On PostgreSQL the check runs after the sequence is taken, so every earlier
       * acceptance of the workspace has committed (the counter's row lock is held from the sequence to the commit);
       * on SQLite there is one writer. (An unordered job needs no check; on PostgreSQL it takes its sequence last.)
       * The body is stored only for a job that is queued. Nothing here waits for a statement's answer on SQLite but
       * the check of an ordered job (the writes are pipelined to its thread).
       */
      queueOrApply: <A, E, R>(
        input: QueueInput,
        alsoInTransaction: Effect.Effect<void, E, R>,
        apply: (job: ApplyingJob) => Effect.Effect<A>
      ): Effect.Effect<Option.Option<A>, E, R> =>
        Effect.suspend(() => {
          // On PostgreSQL an unordered job takes its sequence last (its counter's row is locked from then to the
          // commit, so the workspace's other acceptances wait only for the commit, not for the records' writes), and
          // such jobs go through several lanes, so that several transactions apply at once on the pool.
          const lateSequence = onPostgres && !input.plan.ordered
          const lane = lateSequence ? `${input.workspace}/${inlineLane++ % inlineLanes}` : input.workspace
          return shared(
            lane,
            input.body.length,
            dieOnSqlError(
              Effect.gen(function* () {
                // Until then a placeholder, negative (never a real sequence) and random, as `(workspace, sequence)` is
                // unique (a clash, about one in 10^14 per pair in flight, fails the apply and the batch is queued).
                const sequence = lateSequence
                  ? sql`${-1 - Math.floor(Math.random() * 2 ** 47)}`
                  : yield* takeSequence(input.workspace)
                yield* alsoInTransaction
                if (input.plan.ordered && (yield* objectBusy(input.workspace, input.objectName))) {
                  yield* executeStatement(sql, insertBody(input))
                  yield* executeStatement(sql, insertJob(input, sequence, queued))
                  return Option.none()
                }
                const now = yield* Clock.currentTimeMillis
                const claim = `${claimPrefix}${randomUUID()}`
                yield* executeStatement(
                  sql,
                  insertJob(
                    input,
                    sequence,
                    sql`'processing', ${now}, 1, ${claim}, ${now + leaseMillis}`,
                    sql.literal(", started_at, attempts, claim, lease_until")
                  )
                )
                const { acceptedRecords, createdAt, jobId, objectName, plan, workspace } = input
                const applied = yield* apply({
                  jobId,
                  claim,
                  workspace,
                  objectName,
                  matchKey: plan.mergeKey,
                  acceptedRecords,
                  createdAt: createdAt.getTime()
                })
                if (lateSequence) {
                  yield* executeStatement(
                    sql,
                    sql`WITH next AS (${nextSequence(workspace)} RETURNING last_sequence)
                      UPDATE jobs SET sequence = (SELECT last_sequence FROM next) WHERE id = ${jobId}`
                  )
                }
                return Option.some(applied)
              })
            )
          )
        }),

      /**
       * Completes a job inserted by {@link queueOrApply} in the same transaction (so held by it): its metrics and
       * row-error count; no answer is waited for.
       */
      completeApplied: (completion: Completion, now: Date): Effect.Effect<void> =>
        Effect.orDie(
          executeStatement(
            sql,
            sql`UPDATE jobs SET state = 'completed', completed_at = ${now.getTime()}, lease_until = NULL,
              metrics = ${JSON.stringify(completion.metrics)}, error_count = ${completion.errorCount}
              WHERE ${held(completion.claimed)}`
          )
        ),

      /**
       * The job as `GET …/jobs/{jobId}` returns it (SPEC §1.6), with its first row errors (without records).
       * `None` when the job does not exist in this workspace under this object.
       */
      get: (
        workspace: string,
        objectName: string,
        jobId: string,
        options?: GetOptions
      ): Effect.Effect<Option.Option<Job.Job>> =>
        Effect.orDie(
          Effect.gen(function* () {
            const found = yield* findJob(workspace, objectName, jobId)
            if (Option.isNone(found)) return Option.none()
            const limit = options?.errorsLimit ?? Limits.maxRowErrorsInline
            const errors =
              limit === Number.POSITIVE_INFINITY
                ? yield* sql<ErrorRow>`SELECT position, row_index, code, field, pointer, message FROM row_errors
                    WHERE job_id = ${jobId} ORDER BY position`
                : yield* sql<ErrorRow>`SELECT position, row_index, code, field, pointer, message FROM row_errors
                    WHERE job_id = ${jobId} ORDER BY position LIMIT ${Math.max(0, Math.floor(limit))}`
            return Option.some(toJob(found.value, errors.map(toRowError)))
          })
        ),

      /**
       * Whether the job is an `ordered` job queued behind an earlier queued or processing job of its object: not
       * claimable until that one is done. (Two index probes; a hint, true when read.)
       */
      waitsBehind: (jobId: string): Effect.Effect<boolean> =>
        Effect.orDie(
          Effect.map(
            sql`SELECT 1 AS blocked FROM jobs j WHERE j.id = ${jobId} AND j.state = 'queued' AND NOT ${claimable}`,
            (rows) => rows.length > 0
          )
        ),

      /** The state of a job by id alone (for waiting on a job the caller already found). */
      state: (jobId: string): Effect.Effect<Option.Option<Job.JobState>> =>
        Effect.orDie(
          Effect.map(sql<{ readonly state: Job.JobState }>`SELECT state FROM jobs WHERE id = ${jobId}`, (rows) =>
            Option.map(Arr.head(rows), (row) => row.state)
          )
        ),

      /**
       * A page of a job's row errors, each with its rejected record, in order; `None` when the job does not exist
       * in this workspace under this object.
       */
      errorsPage: (
        workspace: string,
        objectName: string,
        jobId: string,
        options: { readonly limit: number; readonly cursor: string | undefined }
      ): Effect.Effect<Option.Option<Job.JobErrorsPage>, Cursor.InvalidCursor> =>
        Effect.gen(function* () {
          const after = Option.getOrElse(yield* Cursor.decode("errors", options.cursor), () => -1)
          const limit = Math.max(1, Math.floor(options.limit))
          return yield* Effect.orDie(
            Effect.gen(function* () {
              const found = yield* findJob(workspace, objectName, jobId)
              if (Option.isNone(found)) return Option.none()
              const rows = yield* sql<ErrorRow>`SELECT position, row_index, code, field, pointer, message, record
                FROM row_errors WHERE job_id = ${jobId} AND position > ${after} ORDER BY position LIMIT ${limit + 1}`
              const pageRows = rows.slice(0, limit)
              // A row's record is stored with its first error only, and a row's errors are consecutive: only the
              // row the page starts in can have its record on an earlier page.
              let carried: { readonly index: number; readonly record: string } | undefined
              const first = pageRows[0]
              if (first !== undefined && first.record === null) {
                const earlier = yield* sql<{ readonly record: string }>`SELECT record FROM row_errors
                  WHERE job_id = ${jobId} AND position < ${first.position} AND row_index = ${first.row_index}
                  AND record IS NOT NULL ORDER BY position DESC LIMIT 1`
                if (earlier[0] !== undefined) carried = { index: Number(first.row_index), record: earlier[0].record }
              }
              const errors = pageRows.map((row) => {
                if (row.record !== null) carried = { index: Number(row.row_index), record: row.record }
                const record =
                  carried !== undefined && carried.index === Number(row.row_index) ? carried.record : "null"
                return { ...toRowError(row), record: JSON.parse(record) as unknown }
              })
              const last = pageRows[pageRows.length - 1]
              return Option.some({
                errors,
                nextCursor:
                  rows.length > limit && last !== undefined ? Cursor.encode("errors", Number(last.position)) : null
              })
            })
          )
        }),

      /**
       * Claims the next job a worker may process and marks it `processing`: a job whose lease ran out (its node
       * died) first, else the oldest `queued` job; in both cases not an `ordered` job waiting behind an earlier job of
       * its object. `None` when there is none. Each candidate list is walked in claim order through an index and
       * stops at the first claimable job, so a claim does not grow with the object's completed jobs.
       */
      claimNext: (): Effect.Effect<Option.Option<ClaimedJob>> =>
        Effect.orDie(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const leaseUntil = now + leaseMillis
            const claim = `${claimPrefix}${randomUUID()}`
            // One statement, atomic on its own: no transaction around it.
            const rows =
              yield* sql<ClaimRow>`UPDATE jobs SET state = 'processing', started_at = ${now}, attempts = attempts + 1,
                claim = ${claim}, lease_until = ${leaseUntil}
                WHERE (state = 'queued' OR (state = 'processing' AND lease_until < ${now})) AND id = COALESCE(
                  (SELECT j.id FROM jobs j WHERE j.state = 'processing' AND j.lease_until < ${now} AND ${claimable}
                    ORDER BY j.created_at, j.sequence LIMIT 1 ${skipLocked}),
                  (SELECT j.id FROM jobs j WHERE j.state = 'queued' AND ${claimable}
                    ORDER BY j.created_at, j.sequence LIMIT 1 ${skipLocked}))
                RETURNING ${claimColumns}`
            return Option.map(Arr.head(rows), (row) => toClaimedJob(row, claim))
          })
        ),

      /**
       * Claims `head`'s followers for group commit (the claim `head` holds takes them too): the next `queued` jobs of
       * its workspace and object in `sequence` order, while their records add up to at most `budget.records` with
       * `head`'s, at most `budget.jobs` jobs in all, and none is behind a job of the object that another claim is
       * processing. They are applied after `head`, in this order, exactly as if each were claimed when the one
       * before it completed: `head` is claimable, so no earlier job of the object is queued or processing, and
       * each follower comes next in acceptance order. Answers the followers claimed, in `sequence` order.
       */
      claimFollowers: (head: ClaimedJob, budget: GroupBudget): Effect.Effect<ReadonlyArray<ClaimedJob>> =>
        Effect.orDie(
          Effect.gen(function* () {
            const room = Math.min(budget.jobs - 1, budget.records - head.acceptedRecords)
            if (room <= 0) return []
            // With each, `busy`: the first job of the object after `head` that another claim processes (an append
            // claimed apart, from before the object had match keys); the group stops before it, as a claim of its own
            // would.
            const candidates = yield* sql<{
              readonly id: string
              readonly sequence: number
              readonly accepted_records: number
              readonly busy: number | null
            }>`SELECT id, sequence, accepted_records, (SELECT MIN(sequence) FROM jobs
                WHERE workspace = ${head.workspace} AND object_name = ${head.objectName} AND state = 'processing'
                AND sequence > ${head.sequence} AND claim <> ${head.claim}) AS busy
              FROM jobs WHERE workspace = ${head.workspace} AND object_name = ${head.objectName} AND state = 'queued'
              AND sequence > ${head.sequence} ORDER BY sequence LIMIT ${budget.jobs - 1}`
            if (candidates.length === 0) return []
            const busy = candidates[0]!.busy
            const stopAt = busy == null ? Number.POSITIVE_INFINITY : Number(busy)
            const ids: Array<string> = []
            let records = head.acceptedRecords
            for (const candidate of candidates) {
              records += Number(candidate.accepted_records)
              if (Number(candidate.sequence) > stopAt || records > budget.records) break
              ids.push(candidate.id)
            }
            if (ids.length === 0) return []
            const now = yield* Clock.currentTimeMillis
            const rows = yield* sql<ClaimRow>`UPDATE jobs SET state = 'processing', started_at = ${now},
              attempts = attempts + 1, claim = ${head.claim}, lease_until = ${now + leaseMillis}
              WHERE id IN ${sql.in(ids)} AND state = 'queued'
              RETURNING ${claimColumns}`
            // Other claims cannot take a follower of an ordered head (it waits behind the head); an unordered one taken
            // in between is simply not in the group.
            return rows.map((row) => toClaimedJob(row, head.claim)).sort((a, b) => a.sequence - b.sequence)
          })
        ),

      /**
       * The stored body of a job (as received; a completed job's is deleted), read apart from its claim: the body is
       * large, and a worker of the node that accepted the batch does not need it. `None` when there is none.
       */
      body: (jobId: string): Effect.Effect<Option.Option<string>> =>
        Effect.orDie(
          Effect.map(sql<{ readonly body: string }>`SELECT body FROM job_bodies WHERE job_id = ${jobId}`, (rows) =>
            Option.fromNullable(rows[0]?.body)
          )
        ),

      /**
       * Records row errors of a `processing` job, numbered from 0 in the order given, in chunked multi-row inserts.
       * Runs in the caller's transaction.
       */
      insertRowErrors: (jobId: string, entries: ReadonlyArray<RowErrorEntry>): Effect.Effect<void> =>
        Effect.orDie(
          Effect.forEach(
            Arr.chunksOf(
              entries.map((entry, position) => ({ entry, position })),
              rowsPerStatement(sql, 8, 1_000)
            ),
            (chunk) =>
              sql`INSERT INTO row_errors ${sql.insert(
                chunk.map(({ entry, position }) => ({
                  job_id: jobId,
                  position,
                  row_index: entry.error.index,
                  code: entry.error.code,
                  field: entry.error.field,
                  pointer: entry.error.pointer,
                  message: entry.error.message,
                  record: entry.record
                }))
              )}`,
            { discard: true }
          )
        ),

      /**
       * Marks `processing` jobs `completed`, each with its metrics and row-error count, and drops their bodies (no
       * longer needed): a few statements for a whole group, not two per job. Answers the ids of the jobs it did not
       * hold (no longer `processing` under their claim: taken from this worker), which it leaves as they are. Runs in
       * the caller's transaction.
       */
      completeAll: (completions: ReadonlyArray<Completion>, now: Date): Effect.Effect<ReadonlyArray<string>> =>
        Effect.orDie(
          Effect.gen(function* () {
            const done = new Set<string>()
            const byClaim = Arr.groupBy(completions, (completion) => completion.claimed.claim)
            for (const sameClaim of Object.values(byClaim)) {
              for (const chunk of Arr.chunksOf(sameClaim, completionsPerStatement)) {
                const ids = chunk.map(({ claimed }) => claimed.jobId)
                const each = (value: (completion: Completion) => unknown) =>
                  sql.join(
                    " ",
                    false
                  )(chunk.map((completion) => sql`WHEN ${completion.claimed.jobId} THEN ${value(completion)}`))
                const complete = sql<{ readonly id: string }>`UPDATE jobs SET state = 'completed',
                  completed_at = ${now.getTime()}, lease_until = NULL,
                  metrics = CASE id ${each((completion) => JSON.stringify(completion.metrics))} END,
                  error_count = CASE id ${each((completion) => sql`CAST(${completion.errorCount} AS INTEGER)`)} END
                  WHERE id IN ${sql.in(ids)} AND state = 'processing' AND claim = ${chunk[0]!.claimed.claim}
                  RETURNING id`
                // On PostgreSQL the bodies go in the same statement: one round trip less per group.
                const rows = yield* onPostgres
                  ? sql<{ readonly id: string }>`WITH done AS (${complete}),
                      bodies AS (DELETE FROM job_bodies WHERE job_id IN (SELECT id FROM done))
                      SELECT id FROM done`
                  : complete
                for (const row of rows) done.add(row.id)
              }
            }
            const [notHeld, completed] = Arr.partition(
              completions.map(({ claimed }) => claimed.jobId),
              (id) => done.has(id)
            )
            if (!onPostgres) {
              for (const chunk of Arr.chunksOf(completed, completionsPerStatement)) {
                yield* sql`DELETE FROM job_bodies WHERE job_id IN ${sql.in(chunk)}`
              }
            }
            return notHeld
          })
        ),

      /** Marks a `processing` job `failed` (the job itself could not be processed); keeps its body. */
      fail: (claimed: ClaimRef, failure: Job.JobFailure, now: Date): Effect.Effect<boolean> =>
        Effect.orDie(
          Effect.map(
            sql<{ readonly id: string }>`UPDATE jobs SET state = 'failed', completed_at = ${now.getTime()},
              failure = ${JSON.stringify(failure)}, lease_until = NULL WHERE ${held(claimed)} RETURNING id`,
            (rows) => rows.length > 0
          )
        ),

      /**
       * Puts a `processing` job back in the queue (its worker stopped before committing it). With `countAttempt`
       * false (a shutdown, not the job's fault) the claim is not counted against the job's attempts.
       */
      requeue: (claimed: ClaimRef, countAttempt: boolean): Effect.Effect<boolean> =>
        Effect.orDie(
          Effect.map(
            sql<{ readonly id: string }>`UPDATE jobs SET state = 'queued', started_at = NULL, claim = NULL,
              lease_until = NULL, attempts = attempts - ${countAttempt ? 0 : 1} WHERE ${held(claimed)} RETURNING id`,
            (rows) => rows.length > 0
          )
        ),

      /**
       * Extends the lease of a claim, on every job it holds (a group's head and followers), by the `JobLease` from
       * now; `false` when the claim no longer holds any job (the lease ran out and other workers took them, or the
       * jobs are done).
       */
      renewLease: (claimed: ClaimRef): Effect.Effect<boolean> =>
        Effect.orDie(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const leaseUntil = now + leaseMillis
            const rows = yield* sql<{ readonly id: string }>`UPDATE jobs SET lease_until = ${leaseUntil}
              WHERE claim = ${claimed.claim} AND state = 'processing' RETURNING id`
            return rows.length > 0
          })
        ),

      /**
       * For a node that starts: queues again the jobs left `processing` by a crash (as a job's processing commits in
       * one transaction, nothing of them was applied). On a single node every such job; on shared storage only those
       * whose lease ran out, as the others belong to live nodes. Answers how many.
       */
      recoverInterrupted: (): Effect.Effect<number> =>
        Effect.orDie(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const rows = yield* sql<{ readonly id: string }>`UPDATE jobs SET state = 'queued', started_at = NULL,
              claim = NULL, lease_until = NULL WHERE ${interrupted(now)} RETURNING id`
            return rows.length
          })
        ),

      /**
       * Deletes the terminal jobs completed before `before`, with their row errors, a few hundred per transaction
       * so other work is not held up; answers how many.
       */
      purgeOlderThan: (before: Date): Effect.Effect<number> =>
        Effect.orDie(
          Effect.gen(function* () {
            let total = 0
            while (true) {
              const deleted = yield* purgeSome(before.getTime(), 500)
              total += deleted
              if (deleted < 500) return total
            }
          })
        ),

      /**
       * The records of the jobs that wait and run (accepted, not yet committed), by workspace, and the ids of those
       * of them created at `since` (epoch ms) or later, read at one point in time (one statement).
       */
      backlogByWorkspace: (since: number): Effect.Effect<Backlog> =>
        Effect.orDie(
          Effect.map(
            sql<{ readonly workspace: string; readonly records: number | null; readonly id: string | null }>`SELECT
                workspace, SUM(accepted_records) AS records, NULL AS id
              FROM jobs WHERE state IN ('queued', 'processing') GROUP BY workspace
              UNION ALL
              SELECT workspace, NULL, id FROM jobs WHERE state IN ('queued', 'processing') AND created_at >= ${since}`,
            (rows) => {
              const records = new Map<string, number>()
              const recentJobs = new Set<string>()
              for (const row of rows) {
                if (row.id === null) records.set(row.workspace, Number(row.records))
                else recentJobs.add(row.id)
              }
              return { records, recentJobs }
            }
          )
        ),

      /** How many jobs wait and run. */
      queueDepth: (): Effect.Effect<QueueDepth> =>
        Effect.orDie(
          Effect.map(
            sql<{ readonly state: string; readonly count: number }>`SELECT state, COUNT(*) AS count FROM jobs
              WHERE state IN ('queued', 'processing') GROUP BY state`,
            (rows) => ({
              queued: Number(rows.find((row) => row.state === "queued")?.count ?? 0),
              processing: Number(rows.find((row) => row.state === "processing")?.count ?? 0)
            })
          )
        )
    } as const
  })
}) {}
