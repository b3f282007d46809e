/**
 * The storage connection of the Records service: a layer providing `SqlClient` on one database, with the schema
 * migrated on start. SQLite (one file, WAL) is the embedded default; the repositories only use `SqlClient`, so a
 * PostgreSQL layer can serve them too.
 *
 * Durability of SQLite (SPEC §1.5, §1.10: a `202` survives `kill -9`): in WAL mode a commit appends the
 * transaction to the WAL file before it returns. With `synchronous = NORMAL` (the default here) that write reaches
 * the operating system but is not fsynced, so a commit survives any crash of the process (`kill -9`, an
 * out-of-memory kill, a panic) and the database is never corrupted; only a power loss or a kernel crash may roll
 * back the last transactions. `synchronous = FULL` fsyncs the WAL at every commit and survives those too, at the
 * cost of one fsync per commit, during which the whole process waits (better-sqlite3 is synchronous). Choose
 * `"FULL"` when acknowledged batches must survive losing the machine's power.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Migrator from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqliteMigrator from "@effect/sql-sqlite-node/SqliteMigrator"
import { Duration, Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { loader } from "./Migrations.js"

/** Options of {@link sqlite}. */
export interface SqliteOptions {
  /** The database file; created when missing. */
  readonly filename: string
  /** How commits are flushed (see the module comment). Default `"NORMAL"`. */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** How long a statement waits for a lock held by another connection before failing. Default 5 seconds. */
  readonly busyTimeout?: Duration.DurationInput | undefined
}

/**
 * A layer providing `SqlClient` (and `SqliteClient`) on the SQLite file `filename`: WAL journal,
 * `synchronous` as chosen, a busy timeout, foreign keys on, and every migration applied before the layer is built.
 */
export const sqlite = (
  options: SqliteOptions
): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient, SqlError | Migrator.MigrationError | ConfigError> => {
  const synchronous = options.synchronous ?? "NORMAL"
  const busyTimeoutMillis = Math.round(Duration.toMillis(options.busyTimeout ?? Duration.seconds(5)))
  const setUp = Effect.gen(function* () {
    const sql = yield* SqliteClient.SqliteClient
    // PRAGMAs are per connection; the client holds exactly one.
    yield* sql.unsafe(`PRAGMA synchronous = ${synchronous}`)
    yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeoutMillis}`)
    yield* sql.unsafe("PRAGMA foreign_keys = ON")
    yield* SqliteMigrator.run({ loader })
  })
  return Layer.effectDiscard(setUp).pipe(
    Layer.provide(NodeContext.layer),
    Layer.provideMerge(SqliteClient.layer({ filename: options.filename }))
  )
}

/** The most bind parameters one statement may carry on the client's database. */
export const maxBindParameters = (sql: SqlClient.SqlClient): number =>
  sql.onDialectOrElse({ pg: () => 65_535, orElse: () => 32_766 })

/**
 * How many rows of `columns` parameters each one multi-row statement should carry: at most `preferred`, and within
 * the database's bind-parameter limit.
 */
export const rowsPerStatement = (sql: SqlClient.SqlClient, columns: number, preferred = 1_000): number =>
  Math.max(1, Math.min(preferred, Math.floor(maxBindParameters(sql) / columns)))
