/**
 * The storage ceiling: the same kind of bodies parsed (`JSON.parse`) and written straight into the same storage,
 * with no HTTP, no job queue and no validation: `Database.sqlite` / `Database.postgres` (the service's migrations
 * and settings on a fresh file or database; SQLite with its connection on a worker thread, as the service runs it,
 * and on this thread: the caller keeps the better) and the service's own `RecordsRepo.append` /
 * `RecordsRepo.upsert`, one transaction per batch, one batch at a time, in this process. It is what the storage code
 * can commit at best; the service adds HTTP, storing the accepted body, the job bookkeeping and validation on top. Two batches warm up; the rest are timed in `rounds`
 * equal rounds and the best round counts (the machine is shared: the best round is the least disturbed one).
 */
import { ObjectSchema, type RecordValidation } from "@batchwrite/core"
import { RecordsRepo as RecordsRepoModule } from "@batchwrite/server"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import type { Connection, FreshStorage } from "./Backends.js"
import type { Operation } from "./Bodies.js"

/** The ceiling of one operation. */
export interface StorageCeiling {
  readonly backend: string
  /** How the storage was connected to (SQLite: its connection on a worker thread or on the calling thread). */
  readonly connection: Connection
  readonly operation: Operation
  readonly batchSize: number
  /** Timed batches (warm-up excluded). */
  readonly batches: number
  /** The best round. */
  readonly recordsPerSec: number
  /** Every round, records/s. */
  readonly rounds: ReadonlyArray<number>
}

/** Writes every body (the first two as warm-up) and answers the records committed per second of the best round. */
export const measureStorageCeiling = (
  backend: string,
  connection: Connection,
  fresh: FreshStorage,
  operation: "append-batch" | "upsert-batch",
  batchSize: number,
  bodies: ReadonlyArray<Buffer>,
  rounds = 3
): Promise<StorageCeiling> => {
  const storage = Layer.provideMerge(RecordsRepoModule.RecordsRepo.Default, fresh.layer)
  const program = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const records = yield* RecordsRepoModule.RecordsRepo
    const write = (body: Buffer) =>
      Effect.suspend(() => {
        const parsed = JSON.parse(body.toString("utf8")) as { records: Array<RecordValidation.RecordFields> }
        const rows = parsed.records.map((record, index) => ({ index, record }))
        const now = new Date()
        return sql.withTransaction(
          operation === "upsert-batch"
            ? records.upsert("bench", ObjectSchema.profilesObject, "email", rows, now)
            : records.append("bench", ObjectSchema.eventsObject, rows, now)
        )
      })
    const warmUp = 2
    for (const body of bodies.slice(0, warmUp)) yield* write(body)
    const perRound = Math.max(1, Math.floor((bodies.length - warmUp) / rounds))
    const measured: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const started = performance.now()
      for (const body of bodies.slice(warmUp + round * perRound, warmUp + (round + 1) * perRound)) yield* write(body)
      measured.push((perRound * batchSize) / ((performance.now() - started) / 1000))
    }
    return {
      backend,
      connection,
      operation,
      batchSize,
      batches: perRound * rounds,
      recordsPerSec: Math.max(...measured),
      rounds: measured.map(Math.round)
    } satisfies StorageCeiling
  })
  return Effect.runPromise(Effect.provide(program, storage)).finally(fresh.dispose)
}
