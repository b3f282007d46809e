/**
 * `batchwrite backup <file> [--database sqlite:<file>]`: an online backup of the SQLite database while `serve`
 * runs on it (SQLite's backup API: one consistent snapshot, the WAL included). Restore = `serve` on the copy.
 */
import { SqliteBackup } from "@batchwrite/server"
import { Args, Command } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Console, Effect } from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { root } from "../Root.js"
import { database, parseDatabase } from "../ServeSettings.js"

const file = Args.text({ name: "file" }).pipe(Args.withDescription("The backup to write: a new file"))

/** The `backup` command. */
export const backupCommand = Command.make("backup", { file, database }, (options) =>
  Effect.gen(function* () {
    const { json } = yield* root
    const storage = yield* parseDatabase(options.database, 1)
    if (storage._tag !== "Sqlite") {
      return yield* new UsageError({
        message: "backup copies a SQLite database; back up PostgreSQL with its own tools (pg_dump, base backups)"
      })
    }
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(storage.filename).pipe(Effect.orElseSucceed(() => false)))) {
      return yield* new UsageError({ message: `no database at ${storage.filename}: give --database sqlite:<file>` })
    }
    if (yield* fs.exists(options.file).pipe(Effect.orElseSucceed(() => false))) {
      return yield* new UsageError({ message: `${options.file} already exists: back up into a new file` })
    }
    const started = Date.now()
    yield* SqliteBackup.backup(storage.filename, options.file).pipe(
      Effect.mapError((failure) => new WorkError({ message: failure.message }))
    )
    const seconds = (Date.now() - started) / 1000
    yield* Console.log(
      json
        ? JSON.stringify({ database: storage.filename, backup: options.file, seconds })
        : `backed up ${storage.filename} into ${options.file} in ${seconds.toFixed(1)} s; restore: batchwrite serve --database sqlite:${options.file}`
    )
  })
).pipe(
  Command.withDescription(
    "Back up the SQLite database while the service runs (a copy of the .db file alone misses the WAL).\n" +
      "Restore by starting serve on the copy.\n" +
      "Example: batchwrite backup /var/backups/batchwrite-2026-12-03.db \\\n" +
      "           --database sqlite:/srv/batchwrite/batchwrite.db"
  )
)
