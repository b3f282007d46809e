/**
 * Test set-up of the storage tests: a fresh database of an adapter (SQLite file or PostgreSQL database) per layer,
 * the repositories on it, and small helpers to accept and process batches at the repository level.
 */
import { Job, type ObjectSchema } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Option } from "effect"
import { IdempotencyRepo } from "../../src/IdempotencyRepo.js"
import { JobProcessor, type ProcessResult } from "../../src/JobProcessor.js"
import { JobsRepo } from "../../src/JobsRepo.js"
import { ObjectsRepo } from "../../src/ObjectsRepo.js"
import { RecordsRepo } from "../../src/RecordsRepo.js"
import { databaseLayer, type DatabaseSettings } from "../../src/Server.js"
import { type Adapter, sqlite } from "../support/Adapters.js"

export { type Adapter, forEachAdapter, onPostgres, tempDirectory } from "../support/Adapters.js"

/** The storage layer (`SqlClient`, migrated) on a fresh database of the adapter. */
export const freshDatabase = (adapter: Adapter) => Layer.unwrapScoped(Effect.map(adapter.freshDatabase, databaseLayer))

const repositories = Layer.mergeAll(
  JobsRepo.Default,
  RecordsRepo.Default,
  ObjectsRepo.Default,
  IdempotencyRepo.Default,
  JobProcessor.Default
)

/** Every repository and the job processor on a fresh database of the adapter. */
export const storageOn = (adapter: Adapter) => repositories.pipe(Layer.provideMerge(freshDatabase(adapter)))

/**
 * Every repository and the job processor on an existing database: one "node" of several sharing it (each with its
 * own connections and caches).
 */
export const storageWith = (settings: DatabaseSettings) =>
  repositories.pipe(Layer.provideMerge(databaseLayer(settings)))

/** Every repository and the job processor on a fresh SQLite file. */
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
    const objects = yield* ObjectsRepo
    const objectName = typeof options.object === "string" ? options.object : options.object.name
    const definition = yield* objects.get(options.workspace, objectName)
    const jobId = options.jobId ?? newJobId()
    const body =
      options.matchKey === undefined
        ? JSON.stringify({ records: options.records })
        : JSON.stringify({ records: options.records, matchKey: options.matchKey })
    yield* jobs.accept({
      jobId,
      workspace: options.workspace,
      objectName,
      operation: options.matchKey === undefined ? "append-batch" : "upsert-batch",
      matchKey: options.matchKey ?? null,
      body,
      acceptedRecords: options.records.length,
      ordered:
        options.matchKey !== undefined || Option.exists(definition, (definition) => definition.matchKeys.length > 0),
      createdAt: new Date(),
      idempotency: Option.none()
    })
    const job = yield* jobs.get(options.workspace, objectName, jobId)
    return { jobId, sequence: Option.getOrThrow(job).sequence }
  })

/** Claims and processes jobs until none can be claimed; answers the results in processing order. */
export const processAll = Effect.gen(function* () {
  const jobs = yield* JobsRepo
  const processor = yield* JobProcessor
  const results: Array<ProcessResult> = []
  while (true) {
    const claimed = yield* jobs.claimNext()
    if (Option.isNone(claimed)) return results
    results.push(yield* processor.process(claimed.value))
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
export const countRows = (table: "records" | "record_keys" | "row_errors" | "jobs") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ readonly n: number }>`SELECT COUNT(*) AS n FROM ${sql(table)}`, (rows) => Number(rows[0]!.n))
  )
