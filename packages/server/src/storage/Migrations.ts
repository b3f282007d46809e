/**
 * The storage schema of the Records service, as migrations the `@effect/sql` migrator runs on start. Every table is
 * scoped by workspace. Timestamps are milliseconds since the epoch (`BIGINT`), JSON values are stored as text (the
 * exact text the service wrote), so the same statements serve SQLite and PostgreSQL; the few DDL differences are
 * fragments chosen with `sql.onDialectOrElse`, one place each.
 */
import { ObjectSchema } from "@batchwrite/core"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import * as RecordTables from "./RecordTables.js"

const initial = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // A table keyed only by its primary key is stored as that key's B-tree in SQLite (no separate rowid index).
  const withoutRowid = sql.onDialectOrElse({
    sqlite: () => sql.literal("WITHOUT ROWID"),
    orElse: () => sql.literal("")
  })
  // Record ids are the acceptance order of rows: never reused, explicit values allowed (updates are upserts by id).
  const recordId = sql.onDialectOrElse({
    pg: () => sql.literal("BIGSERIAL PRIMARY KEY"),
    orElse: () => sql.literal("INTEGER PRIMARY KEY AUTOINCREMENT")
  })

  yield* sql`CREATE TABLE objects (
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, name)
  ) ${withoutRowid}`

  yield* sql`CREATE TABLE sequences (
    workspace TEXT NOT NULL PRIMARY KEY,
    last_sequence BIGINT NOT NULL
  ) ${withoutRowid}`

  // body: the request body as received, until the job completes (moved to job_bodies by 3_job_bodies); attempts:
  // claims so far (a job that keeps crashing its worker fails instead of looping forever).
  yield* sql`CREATE TABLE jobs (
    id TEXT NOT NULL PRIMARY KEY,
    workspace TEXT NOT NULL,
    object_name TEXT NOT NULL,
    operation TEXT NOT NULL,
    match_key TEXT NULL,
    sequence BIGINT NOT NULL,
    ordered SMALLINT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NULL,
    accepted_records INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    started_at BIGINT NULL,
    completed_at BIGINT NULL,
    metrics TEXT NULL,
    failure TEXT NULL,
    error_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace, sequence)
  )`
  yield* sql`CREATE INDEX jobs_claim ON jobs (state, created_at, sequence)`
  yield* sql`CREATE INDEX jobs_object_order ON jobs (workspace, object_name, state, sequence)`
  yield* sql`CREATE INDEX jobs_retention ON jobs (state, completed_at)`

  // record: the rejected record as JSON text, on the first error of each row only (a row with many errors would
  // otherwise store its record many times); readers take it from that first error.
  yield* sql`CREATE TABLE row_errors (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    row_index INTEGER NOT NULL,
    code TEXT NOT NULL,
    field TEXT NULL,
    pointer TEXT NOT NULL,
    message TEXT NOT NULL,
    record TEXT NULL,
    PRIMARY KEY (job_id, position)
  ) ${withoutRowid}`

  yield* sql`CREATE TABLE records (
    id ${recordId},
    workspace TEXT NOT NULL,
    object_name TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX records_by_object ON records (workspace, object_name, id)`

  // value: the JSON text of the match-key value, so 1 and "1" are different keys.
  yield* sql`CREATE TABLE record_keys (
    workspace TEXT NOT NULL,
    object_name TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (workspace, object_name, field, value)
  ) ${withoutRowid}`

  yield* sql`CREATE TABLE idempotency_keys (
    workspace TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER NULL,
    headers TEXT NULL,
    body TEXT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    locked_until BIGINT NULL,
    PRIMARY KEY (workspace, method, path, key)
  )`
  yield* sql`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`
})

/**
 * Job leases and shared rate buckets, for several nodes on one database. `claim` names the claim a `processing`
 * job belongs to (a random id per claim: outcomes are written only by that claim) and `lease_until` when the claim
 * lapses unless renewed (a job whose lease ran out belongs to a node that died and is claimed again).
 * `rate_buckets` holds the token buckets when every node must share one budget (PostgreSQL).
 */
const leases = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE jobs ADD COLUMN claim TEXT NULL`
  yield* sql`ALTER TABLE jobs ADD COLUMN lease_until BIGINT NULL`
  yield* sql`CREATE INDEX jobs_lease ON jobs (state, lease_until)`
  yield* sql`CREATE TABLE rate_buckets (
    token_id TEXT NOT NULL PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
  )`
})

/**
 * The bodies of jobs in a table of their own. A row is rewritten whole by every `UPDATE` (SQLite) or copied
 * (PostgreSQL's MVCC): with the body in `jobs`, claiming a job, renewing its lease and completing it each wrote its
 * whole body again (up to 10 MB). Bodies already stored move over; `jobs.body` goes. The key to the job is checked
 * at the commit, so that the accept can write the body before it takes the workspace's sequence (see
 * `JobsRepo.accept`).
 */
const jobBodies = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE job_bodies (
    job_id TEXT NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    body TEXT NOT NULL
  )`
  yield* sql`INSERT INTO job_bodies (job_id, body) SELECT id, body FROM jobs WHERE body IS NOT NULL`
  yield* sql`ALTER TABLE jobs DROP COLUMN body`
})

/**
 * How many tokens the last take of a shared bucket took: a node takes a slice of its token's budget at once and
 * spends it locally (`services/RateLimit.ts`), and a take near the bottom of the bucket takes what is left.
 */
const rateBucketSlices = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE rate_buckets ADD COLUMN taken DOUBLE PRECISION NOT NULL DEFAULT 1`
})

/**
 * One row per host, rewritten by `/readyz`'s write probe on PostgreSQL (`StorageHealth`): a database that answers
 * reads but refuses writes (read-only, a standby after a failover, no space for its WAL) is not ready.
 */
const storageProbes = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE storage_probes (
    node TEXT NOT NULL PRIMARY KEY,
    probed_at BIGINT NOT NULL
  )`
})

/**
 * A table per object (`RecordTables`): the rows of `records` move to their object's table with their ids (new ids
 * go on from the largest), and the match-key values of `record_keys` to its key columns, under unique indexes. The
 * match keys are the object's definition's (stored, else the default of that name). `records` and `record_keys` go.
 */
const objectTables = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [ids] = yield* sql<{ readonly last: number | null }>`SELECT MAX(id) AS last FROM records`
  yield* RecordTables.createIdSequence(sql, Number(ids?.last ?? 0))
  const objects = yield* sql<{ readonly workspace: string; readonly object_name: string }>`SELECT DISTINCT
    workspace, object_name FROM records`
  for (const { object_name: objectName, workspace } of objects) {
    const stored = yield* sql<{ readonly definition: string }>`SELECT definition FROM objects
      WHERE workspace = ${workspace} AND name = ${objectName}`
    const definition =
      stored[0] === undefined
        ? ObjectSchema.defaultObjects.find((object) => object.name === objectName)
        : (JSON.parse(stored[0].definition) as ObjectSchema.ObjectDefinition)
    const matchKeys = definition?.matchKeys ?? []
    const table = RecordTables.tableName(workspace, objectName)
    yield* RecordTables.createTable(sql, table, matchKeys)
    yield* sql`INSERT INTO ${sql(table)} (id, data, created_at, updated_at)
      SELECT id, data, created_at, updated_at FROM records WHERE workspace = ${workspace} AND object_name = ${objectName}`
    for (const field of matchKeys) {
      yield* sql`UPDATE ${sql(table)} SET ${sql(RecordTables.keyColumn(field))} = (SELECT k.value FROM record_keys k
        WHERE k.workspace = ${workspace} AND k.object_name = ${objectName} AND k.field = ${field}
        AND k.record_id = ${sql(table)}.id)`
    }
  }
  yield* sql`DROP TABLE record_keys`
  yield* sql`DROP TABLE records`
})

/**
 * Room for updates (`RecordTables.leaveRoomForUpdates`) in the PostgreSQL tables made before it: those of objects
 * with match keys, the tables with a key column. Their pages written from now on keep it.
 */
const roomForUpdates = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of yield* RecordTables.tablesWithMatchKeys(sql)) yield* RecordTables.leaveRoomForUpdates(sql, table)
})

/**
 * Job bodies compressed with LZ4 on PostgreSQL, where the server has it (built `--with-lz4`, as Debian's and the
 * official images are): a body is written once when its batch is accepted and read at most once, and PostgreSQL's
 * default compression (pglz) took about twice LZ4's time to write one (a 200 KB body of 1,000 records: 2.5–2.9 ms
 * against 1.2–1.3 ms, on the server's CPU). Bodies already stored keep theirs.
 */
const jobBodiesLz4 = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.onDialectOrElse({
    pg: () =>
      Effect.flatMap(
        sql<{ readonly lz4: boolean }>`SELECT 'lz4' = ANY (enumvals) AS lz4 FROM pg_settings
          WHERE name = 'default_toast_compression'`,
        (rows) =>
          rows[0]?.lz4 === true
            ? Effect.asVoid(sql`ALTER TABLE job_bodies ALTER COLUMN body SET COMPRESSION lz4`)
            : Effect.void
      ),
    orElse: () => Effect.void
  })
})

/** Every migration of the storage schema, by `<id>_<name>`, for `Migrator.fromRecord`. */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "1_initial": initial,
  "2_leases": leases,
  "3_job_bodies": jobBodies,
  "4_rate_bucket_slices": rateBucketSlices,
  "5_storage_probes": storageProbes,
  "6_object_tables": objectTables,
  "7_room_for_updates": roomForUpdates,
  "8_job_bodies_lz4": jobBodiesLz4
}

/** The loader of {@link migrations}, for `SqliteMigrator.layer` / `PgMigrator.layer`. */
export const loader: Migrator.Loader = Migrator.fromRecord(migrations)

/** The id of the newest migration this version knows. */
export const latestMigration: number = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))
