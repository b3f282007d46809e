/**
 * An online backup of the SQLite database while the service runs (SQLite's backup API through better-sqlite3):
 * the copy is one consistent snapshot, committed work only, WAL included. A copy of the `.db` file alone is not a
 * backup in WAL mode (the latest commits may still be in `-wal`). To restore, start `serve` on the copy.
 */
import { createRequire } from "node:module"
import { Data, Effect } from "effect"
import { driverPath } from "./SqliteThread.js"

/** The backup could not be made; `message` says why, for a person. */
export class BackupFailed extends Data.TaggedError("BackupFailed")<{ readonly message: string }> {}

interface BackupConnection {
  backup(destination: string): Promise<unknown>
  close(): void
}

/** Copies the live database `source` into the new file `destination`. */
export const backup = (source: string, destination: string): Effect.Effect<void, BackupFailed> =>
  Effect.acquireUseRelease(
    Effect.try({
      try: () => {
        const Database = createRequire(import.meta.url)(driverPath()) as new (
          filename: string,
          options: { readonly fileMustExist: boolean }
        ) => BackupConnection
        return new Database(source, { fileMustExist: true })
      },
      catch: (cause) => new BackupFailed({ message: `cannot open the database ${source}: ${messageOf(cause)}` })
    }),
    (connection) =>
      Effect.tryPromise({
        try: () => connection.backup(destination),
        catch: (cause) => new BackupFailed({ message: `cannot write the backup ${destination}: ${messageOf(cause)}` })
      }),
    (connection) => Effect.sync(() => connection.close())
  )

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
