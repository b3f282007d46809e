/**
 * Test set-up of the storage tests: a fresh database of an adapter (SQLite file or PostgreSQL database) per layer,
 * the repositories (and the objects service, which keeps match keys indexed on schema changes) on it, and small helpers
 * to accept and process batches at the repository level.
 */
import { Job, type ObjectSchema } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Option } from "effect"
import { IdempotencyRepo } from "../../src/storage/IdempotencyRepo.js"
import { JobProcessor, type ProcessResult } from "../../src/jobs/JobProcessor.js"
import { AcceptedRecords } from "../../src/jobs/AcceptedRecords.js"
import { parsed } from "../../src/jobs/BatchRecords.js"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { ObjectsRepo } from "../../src/storage/ObjectsRepo.js"
import { RecordsRepo } from "../../src/storage/RecordsRepo.js"
import { databaseLayer, type DatabaseSettings } from "../../src/Server.js"
import { Objects } from "../../src/services/Objects.js"
import { PendingKeyReleases } from "../../src/services/PendingKeyReleases.js"
import { type Adapter, sqlite } from "../support/Adapters.js"

export { type Adapter, forEachAdapter, onPostgres, tempDirectory } from "../support/Adapters.js"

/** The storage layer (`SqlClient`, migrated) on a fresh database of the adapter. */
export const freshDatabase = (adapter: Adapter) => Layer.unwrapScoped(Effect.map(adapter.freshDatabase, databaseLayer))

const repositories = Layer.mergeAll(
  AcceptedRecords.Default,
  Objects.Default,
  JobsRepo.Default,
  RecordsRepo.Default,
  ObjectsRepo.Default,
  IdempotencyRepo.Default,
  PendingKeyReleases.Default,
  JobProcessor.Default
)

/**
 * Every repository, the objects service, the job processor (with the batches it is given, `AcceptedRecords`) and the
 * pending key releases (which the idempotency wrapper uses) on a fresh database of the adapter.
 */
export const storageOn = (adapter: Adapter) => repositories.pipe(Layer.provideMerge(freshDatabase(adapter)))

/**
 * Every repository and the job processor on an existing database: one "node" of several sharing it (each with its
 * own connections and caches).
 */
export const storageWith = (settings: DatabaseSettings) =>
  repositories.pipe(Layer.provideMerge(databaseLayer(settings)))

/** Every repository, the objects service and the job processor on a fresh SQLite file. */
export const TestStorage = storageOn(sqlite)

let jobCounter = 0

/** A new, valid job id (ULID-shaped, unique in the test run). */
export const newJobId = (): string => {
  jobCounter++
  const random = new Uint8Array(10)
  random[6] = (jobCounter >>> 24) & 0xff
  random[7] = (jobCounter >>> 16) & 0xff
  random[8] = (jobCounter >>> 8) & 0xff
  random[9] = jobCounter & 0xff
  return Job.formatJobId(Date.now(), random)
}

/** Options of {@link acceptBatch}. */
export interface BatchOptions {
  readonly workspace: string
  readonly object: ObjectSchema.ObjectDefinition | string
  readonly records: ReadonlyArray<unknown>
  readonly matchKey?: string | undefined
  readonly jobId?: string | undefined
}

/** Queues a batch as the accept path does; answers its job id and sequence. */
export const acceptBatch = (options: BatchOptions) =>
  Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const { input } = yield* queueInput(options)
    yield* jobs.queue(input, Effect.void)
    return yield* acceptedJob(input, false)
  })

/**
 * Accepts a batch as the accept path does with inline apply: applied and completed in the acceptance's transaction
 * when nothing of its object is queued or processing (`applied`), else queued; answers its job id and sequence.
 */
export const acceptInline = (options: BatchOptions) =>
  Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const processor = yield* JobProcessor
    const { definition, input } = yield* queueInput(options)
    const applied = yield* jobs.queueOrApply(input, Effect.void, (job) =>
      processor.applyNow(job, parsed(options.records), Option.getOrThrow(definition))
    )
    return yield* acceptedJob(input, Option.isSome(applied))
  })

const queueInput = (options: BatchOptions) =>
  Effect.gen(function* () {
    const objects = yield* ObjectsRepo
    const objectName = typeof options.object === "string" ? options.object : options.object.name
    const definition = yield* objects.get(options.workspace, objectName)
    const body =
      options.matchKey === undefined
        ? JSON.stringify({ records: options.records })
        : JSON.stringify({ records: options.records, matchKey: options.matchKey })
    const operation = options.matchKey === undefined ? "append-batch" : "upsert-batch"
    const matchKeys = Option.match(definition, { onNone: () => [], onSome: (definition) => definition.matchKeys })
    const input = {
      jobId: options.jobId ?? newJobId(),
      workspace: options.workspace,
      objectName,
      plan: Job.planBatch(operation, matchKeys, options.matchKey ?? null),
      body,
      acceptedRecords: options.records.length,
      createdAt: new Date()
    }
    return { definition, input }
  })

const acceptedJob = (
  input: { readonly workspace: string; readonly objectName: string; readonly jobId: string },
  applied: boolean
) =>
  Effect.flatMap(JobsRepo, (jobs) =>
    Effect.map(jobs.get(input.workspace, input.objectName, input.jobId), (job) => ({
      jobId: input.jobId,
      sequence: Option.getOrThrow(job).sequence,
      applied
    }))
  )

/**
 * Claims and processes jobs as a worker does (a job with its followers, committed together) until none can be
 * claimed; answers the results in processing order.
 */
export const processAll = Effect.gen(function* () {
  const processor = yield* JobProcessor
  const results: Array<ProcessResult> = []
  while (true) {
    const processed = yield* processor.processNext
    if (Option.isNone(processed)) return results
    results.push(...processed.value)
  }
})

/** Accepts one batch, processes everything queued, and answers the batch's job. */
export const runBatch = (options: BatchOptions) =>
  Effect.gen(function* () {
    const { jobId } = yield* acceptBatch(options)
    yield* processAll
    const objectName = typeof options.object === "string" ? options.object : options.object.name
    const job = yield* (yield* JobsRepo).get(options.workspace, objectName, jobId, { errorsLimit: Infinity })
    return Option.getOrThrow(job)
  })

/** Every stored row of an object, oldest first, without the system fields' timestamps. */
export const storedRows = (workspace: string, objectName: string) =>
  Effect.gen(function* () {
    const records = yield* RecordsRepo
    const page = yield* records.list(workspace, objectName, {
      limit: 100_000,
      cursor: undefined,
      filter: Option.none()
    })
    return page.records.map(({ _createdAt, _updatedAt, ...rest }) => rest)
  })

/** A count of a table's rows (for checks that nothing was written). */
export const countRows = (table: "row_errors" | "jobs" | "job_bodies") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ readonly n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`, (rows) => Number(rows[0]!.n))
  )

/** The tables of stored rows, every object's. */
const recordTables = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql.onDialectOrElse({
      pg: () => sql<{ readonly name: string }>`SELECT tablename AS name FROM pg_tables
        WHERE schemaname = current_schema()`,
      orElse: () => sql<{ readonly name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
    }),
    (rows) => rows.map((row) => row.name).filter((name) => name.startsWith("records_"))
  )
)

/** How many rows are stored, in every object's table. */
export const countStoredRows = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  let count = 0
  for (const table of yield* recordTables) {
    const rows = yield* sql<{ readonly n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`
    count += Number(rows[0]!.n)
  }
  return count
})

/** How many match-key values rows hold, in every object's table. */
export const countKeyValues = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  let count = 0
  for (const table of yield* recordTables) {
    const [row] = yield* sql<Record<string, unknown>>`SELECT * FROM ${sql(table)} LIMIT 1`
    const columns = Object.keys(row ?? {}).filter((column) => column.startsWith("key_"))
    for (const column of columns) {
      const rows = yield* sql<{ readonly n: number }>`SELECT COUNT(${sql(column)}) AS n FROM ${sql(table)}`
      count += Number(rows[0]!.n)
    }
  }
  return count
})

/**
 * An object with two match keys and an `orderBy`, for the laws of merging: `k` (required) and `alt`, integers `a` and
 * `b`, and `t` as the order.
 */
export const things: ObjectSchema.ObjectDefinition = {
  name: "things",
  fields: {
    k: { type: "string", required: true },
    alt: { type: "string" },
    a: { type: "integer" },
    b: { type: "integer" },
    t: { type: "integer" }
  },
  matchKeys: ["k", "alt"],
  orderBy: "t"
}

/** Creates or replaces an object's schema as the API does (re-indexing match keys in the same transaction). */
export const putObject = (workspace: string, definition: ObjectSchema.ObjectDefinition) =>
  Effect.flatMap(Objects, (objects) => objects.put(workspace, definition))

/**
 * Plays the restart of a crashed node that was alone on its database: every `processing` job goes back to the
 * queue (what `recoverInterrupted` does on a single node, here on either storage); answers how many.
 */
export const requeueProcessing = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ readonly id: string }>`UPDATE jobs SET state = 'queued', started_at = NULL, claim = NULL, lease_until = NULL
      WHERE state = 'processing' RETURNING id`,
    (rows) => rows.length
  )
).pipe(Effect.orDie)
