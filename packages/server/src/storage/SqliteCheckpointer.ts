/**
 * Checkpoints of the SQLite WAL off the writer's path. In WAL mode a commit appends pages to the `-wal` file, and
 * by default the committing connection itself copies them into the database file (a checkpoint, with its syncs)
 * once the WAL holds 1,000 pages: with batches of thousands of records, nearly every commit of the service's one
 * connection ran one, and the jobs and acceptances waiting for that connection waited for it too (two thirds of a
 * 10,000-record upsert's commit time, measured in the storage code ceiling). Here a thread of its own, with a second
 * connection, checkpoints (`PASSIVE`: it never blocks the writer or waits for it) as soon as the WAL changes, and the
 * writer checkpoints itself only past {@link writerCheckpointPages}.
 *
 * Durability is unchanged: a commit is in the WAL when it returns, as before, and SQLite recovers the WAL after a
 * crash whether or not its pages were copied.
 */
import { Worker } from "node:worker_threads"
import { Effect, type Scope } from "effect"
import { driverPath, workerUrl } from "./SqliteThread.js"
import type { CheckpointerData } from "./SqliteWorker.js"

/**
 * The WAL pages past which the writer checkpoints at its commit anyway (`PRAGMA wal_autocheckpoint`; 64 MiB of
 * 4 KiB pages). Also what lets the WAL start over under a steady load: SQLite rewinds it only when a transaction
 * begins after every page was copied, and a writer that begins its next transaction right after a commit is always
 * ahead of this thread. The writer's checkpoint then copies what this thread has not copied yet: about one commit.
 * Measured (storage code ceiling, 40 SQLite upserts of 10,000, main-thread connection), time in `COMMIT` per
 * commit: 66 ms with SQLite's default (every commit past 1,000 pages checkpoints), 35 ms with this thread and a
 * backstop of 16,384 pages, 57 ms with 4,096, 21 ms with no checkpoint at all.
 */
export const writerCheckpointPages = 16_384

/** The size the WAL file is cut back to when it starts over, should it have grown past it (`journal_size_limit`). */
export const walSizeLimitBytes = 64 * 1024 * 1024

/** How soon the thread checkpoints again while the WAL changes, and while it does not. */
const busyMillis = 10
const idleMillis = 250

/** Runs the checkpointer of the database `filename` (already in WAL mode) until the scope closes. */
export const run = (filename: string, synchronous: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.asVoid(
    Effect.acquireRelease(
      Effect.sync(() => {
        const data: CheckpointerData = {
          batchwriteSqliteCheckpointer: true,
          driver: driverPath(),
          filename,
          synchronous,
          busyMillis,
          idleMillis
        }
        const worker = new Worker(workerUrl(), { workerData: data })
        worker.unref()
        // A checkpointer that failed leaves the checkpoints to the writer (its backstop): nothing is lost.
        worker.on("error", () => {})
        return worker
      }),
      // Stopped at once, also while it is still starting (waiting for it to start cost 0.2 s per database opened):
      // the thread's end closes its connection, and a checkpoint cut short is no harm, SQLite resumes it later.
      (worker) => Effect.promise(() => worker.terminate())
    )
  )
