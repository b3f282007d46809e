/**
 * The storage connection of the Records service: a layer providing `SqlClient` on one database, with the schema
 * migrated on start. SQLite (one file, WAL) is the embedded default; PostgreSQL (a connection pool) lets any number
 * of nodes share one database. The repositories only use `SqlClient`, so the same code serves both; each layer also
 * says the storage's `Topology` (one node, or shared by many), and SQLite the `StorageVolume` its file is on.
 *
 * Durability of SQLite (SPEC §1.5, §1.10: a `202` survives `kill -9`): in WAL mode a commit appends the
 * transaction to the WAL file before it returns. With `synchronous = NORMAL` (the default here) that write reaches
 * the operating system but is not fsynced, so a commit survives any crash of the process (`kill -9`, an
 * out-of-memory kill, a panic) and the database is never corrupted; only a power loss or a kernel crash may roll
 * back the last transactions. `synchronous = FULL` fsyncs the WAL at every commit and survives those too, at the
 * cost of one fsync per commit, during which the whole process waits (better-sqlite3 is synchronous). Choose
 * `"FULL"` when acknowledged batches must survive losing the machine's power.
 *
 * SQLite's one connection runs on a worker thread by default (`SqliteThread`): better-sqlite3 is synchronous, and
 * on the thread that answers HTTP every statement would stop the event loop while it runs (a job's transaction of
 * 10,000 rows for tens of milliseconds). `executor: "main-thread"` keeps it on the calling thread
 * (`@effect/sql-sqlite-node`'s `SqliteClient`). Either way the WAL's pages are copied into the database file
 * (checkpoints) by another thread with a connection of its own (`SqliteCheckpointer`), not by the commits.
 */
import { dirname, resolve } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as Statement from "@effect/sql/Statement"
import { Data, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { latestMigration, loader } from "./Migrations.js"
import * as SqliteCheckpointer from "./SqliteCheckpointer.js"
import * as SqliteThread from "./SqliteThread.js"
import { StorageVolume } from "./StorageVolume.js"
import { Topology } from "./Topology.js"

/** The table `@effect/sql`'s migrator records applied migrations in (on both dialects). */
const migrationsTable = "effect_sql_migrations"

/**
 * The database holds migrations this version does not know: a newer batchwrite migrated it. Running on it could
 * misread or damage its data, so the service refuses to start (upgrades migrate on start; downgrades are refused).
 */
export class SchemaTooNew extends Data.TaggedError("SchemaTooNew")<{ readonly message: string }> {}

/** Fails with {@link SchemaTooNew} when the database was migrated beyond {@link latestMigration}. */
const refuseNewerSchema = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const newer = yield* sql<{ readonly migrationId: number; readonly name: string }>`
    SELECT migration_id AS "migrationId", name FROM ${sql(migrationsTable)}
    WHERE migration_id > ${latestMigration} ORDER BY migration_id DESC LIMIT 1`
  if (newer.length === 0) return
  return yield* new SchemaTooNew({
    message:
      `the database was migrated by a newer batchwrite (migration ${newer[0]!.migrationId}_${newer[0]!.name}; this ` +
      `version knows up to ${latestMigration}): run that newer version, or restore a backup made before the upgrade`
  })
})

/**
 * The page cache of SQLite's writing connection, in KiB (`PRAGMA cache_size`; SQLite's default is 2,000 KiB). An
 * upsert reads the rows its records merge into by their key values, scattered over the table and its key indexes:
 * with the default cache, a page not among the last 2 MB read is read from the file again (a system call each, from
 * the operating system's cache at best). Measured on a table of 300,000 rows (`better-sqlite3`, the read of 5,000 key
 * values the service makes): 20–33 ms with the default, 10.6–10.9 ms with 64 MiB. The memory is taken only as pages
 * are read, up to this much.
 */
export const sqlitePageCacheKib = 65_536

/** Options of {@link sqlite}. */
export interface SqliteOptions {
  /** The database file; created when missing. */
  readonly filename: string
  /** How commits are flushed (see the module comment). Default `"NORMAL"`. */
  readonly synchronous?: "NORMAL" | "FULL" | undefined
  /** How long a statement waits for a lock held by another connection before failing. Default 5 seconds. */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** Where the connection runs (see the module comment). Default `"worker-thread"`. */
  readonly executor?: "worker-thread" | "main-thread" | undefined
}

/**
 * A layer providing `SqlClient` on the SQLite file `filename`: WAL journal, `synchronous` as chosen, a busy timeout,
 * foreign keys on, and every migration applied before the layer is built.
 */
export const sqlite = (
  options: SqliteOptions
): Layer.Layer<
  SqlClient.SqlClient | Topology | StorageVolume,
  SqlError | Migrator.MigrationError | SchemaTooNew | ConfigError
> => {
  const synchronous = options.synchronous ?? "NORMAL"
  const busyTimeoutMillis = Math.round(Duration.toMillis(options.busyTimeout ?? Duration.seconds(5)))
  const setUp = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // PRAGMAs are per connection; the client holds exactly one.
    yield* sql.unsafe(`PRAGMA synchronous = ${synchronous}`)
    yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeoutMillis}`)
    yield* sql.unsafe("PRAGMA foreign_keys = ON")
    yield* sql.unsafe(`PRAGMA cache_size = -${sqlitePageCacheKib}`)
    yield* sql.unsafe(`PRAGMA wal_autocheckpoint = ${SqliteCheckpointer.writerCheckpointPages}`)
    yield* sql.unsafe(`PRAGMA journal_size_limit = ${SqliteCheckpointer.walSizeLimitBytes}`)
    yield* Migrator.make({})({ loader, table: migrationsTable })
    yield* refuseNewerSchema
    if (options.filename !== ":memory:" && options.filename !== "")
      yield* SqliteCheckpointer.run(options.filename, synchronous)
  })
  const connection: Layer.Layer<SqlClient.SqlClient, SqlError | ConfigError> =
    options.executor === "main-thread"
      ? SqliteClient.layer({ filename: options.filename })
      : SqliteThread.layer({ filename: options.filename })
  return Layer.scopedDiscard(setUp).pipe(
    Layer.provideMerge(connection),
    Layer.merge(Topology.singleNode),
    Layer.merge(StorageVolume.at(dirname(resolve(options.filename))))
  )
}

/** Options of {@link postgres}. */
export interface PostgresOptions {
  /** A connection URL, `postgres://user:password@host:port/database`. */
  readonly url: string | Redacted.Redacted
  /** The most connections the node opens (job workers and requests share them). Default 10. */
  readonly poolSize?: number | undefined
  /** The `application_name` the connections report. Default `batchwrite`. */
  readonly applicationName?: string | undefined
}

/**
 * Creates the migrator's own table under a transaction-scoped advisory lock. `PgMigrator` locks that table while it
 * migrates, so concurrent starts are safe once it exists; but it creates it outside any lock, and two nodes starting
 * on an empty database would both try. The columns are exactly the migrator's.
 */
const ensureMigrationsTable = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${migrationsTable}))`
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(migrationsTable)} (
        migration_id integer primary key,
        created_at timestamp with time zone not null default now(),
        name text not null
      )`
    })
  )
})

/**
 * A layer providing `SqlClient` (and `PgClient`) on a PostgreSQL database through a pool of at most `poolSize`
 * connections, with every migration applied before the layer is built. Several nodes may start at once on the same
 * database: the migrations run once.
 */
export const postgres = (
  options: PostgresOptions
): Layer.Layer<
  SqlClient.SqlClient | PgClient.PgClient | Topology,
  SqlError | Migrator.MigrationError | SchemaTooNew | ConfigError
> => {
  const setUp = ensureMigrationsTable.pipe(
    Effect.zipRight(PgMigrator.run({ loader, table: migrationsTable })),
    Effect.zipRight(refuseNewerSchema)
  )
  return Layer.effectDiscard(setUp).pipe(
    Layer.provide(NodeContext.layer),
    Layer.provideMerge(
      PgClient.layer({
        url: Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url),
        maxConnections: Math.max(1, Math.floor(options.poolSize ?? 10)),
        applicationName: options.applicationName ?? "batchwrite"
      })
    ),
    Layer.merge(Topology.sharedStorage)
  )
}

/** Whether the client talks to PostgreSQL (otherwise SQLite). */
export const isPostgres = (sql: SqlClient.SqlClient): boolean =>
  sql.onDialectOrElse({ pg: () => true, orElse: () => false })

/** The most bind parameters one statement may carry on the client's database. */
export const maxBindParameters = (sql: SqlClient.SqlClient): number =>
  sql.onDialectOrElse({ pg: () => 65_535, orElse: () => 32_766 })

/**
 * How many rows of `columns` parameters each one multi-row statement should carry: at most `preferred`, and within
 * the database's bind-parameter limit.
 */
export const rowsPerStatement = (sql: SqlClient.SqlClient, columns: number, preferred = 1_000): number =>
  Math.max(1, Math.min(preferred, Math.floor(maxBindParameters(sql) / columns)))

/** A statement compiled ahead: its SQL text and parameters. */
export type CompiledStatement = readonly [sql: string, params: ReadonlyArray<unknown>]

/**
 * Runs compiled statements one after another on the connection of the transaction they run in, past the
 * `Statement` API (a span and a scope for each statement: about 60 fiber steps, on the thread that answers HTTP); as
 * usual outside a transaction. For the statements the write path runs for every accepted batch and every record
 * written: they are not traced, their transaction is (`sql.transaction`). Answers the last statement's rows.
 */
export const executeInTransaction = (
  sql: SqlClient.SqlClient,
  statements: ReadonlyArray<CompiledStatement>
): Effect.Effect<ReadonlyArray<unknown>, SqlError> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (transaction) => {
    const execute = Option.match(transaction, {
      onNone: () => (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params),
      onSome:
        ([connection]) =>
        (text: string, params: ReadonlyArray<unknown>) =>
          connection.execute(text, params, undefined)
    })
    return Effect.reduce(statements, [] as ReadonlyArray<unknown>, (_, [text, params]) => execute(text, params))
  })

/**
 * On PostgreSQL, makes the rest of the transaction plan each statement without looking at its parameters' values
 * (`plan_cache_mode`). A statement sent unnamed is otherwise planned at every execution with its values put in, which
 * for a write of thousands of rows in one `VALUES` list cost more than running it: in the storage ceiling of
 * `pnpm bench` (merging upserts, batches of 10,000), PostgreSQL's statement log showed 843 ms binding 43 `INSERT`s
 * and 796 ms binding 34 `UPDATE`s, against 1,226 ms and 534 ms executing them; with generic plans the binds took 194
 * and 254 ms. The rows' writes are planned alike for any values (their target is a list of values or an index), so
 * nothing is lost.
 */
export const genericPlans: CompiledStatement = ["SET LOCAL plan_cache_mode = force_generic_plan", []]

/** {@link executeInTransaction} of one statement. */
export const executeStatement = <A extends object>(
  sql: SqlClient.SqlClient,
  statement: Statement.Statement<A>
): Effect.Effect<ReadonlyArray<A>, SqlError> =>
  Effect.suspend(() => executeInTransaction(sql, [statement.compile()]) as Effect.Effect<ReadonlyArray<A>, SqlError>)
