/**
 * The tables of stored rows: one per object of a workspace (`records_<object>_<hash>`), with
 * - `id`, the row's `_id`: one sequence for every table (`record_ids`, see {@link insertWithIds}), so ids grow in the
 *   order rows are written and no two rows of any object or workspace share one;
 * - `data`, the row's fields as the JSON text the service wrote;
 * - `created_at`, `updated_at` in milliseconds since the epoch;
 * - one column per match key (`key_<field>_<hash>`) holding the JSON text of the row's value (so `1` and `"1"`
 *   differ), under a unique index: the database itself keeps every non-null match-key value unique within the
 *   object, and finds the row of a value by the index. The column is null when the row has no value, and for rows
 *   that share a value since the field became a match key: the oldest of them holds it (see {@link addMatchKey}).
 *
 * Names carry a hash because workspaces are any text, field names are case-sensitive (SQLite's identifiers are not)
 * and PostgreSQL cuts identifiers at 63 characters; the readable part is for people looking at the database.
 *
 * A table is made when its object is first written or its schema is first put ({@link makeTableKeeper}, in the
 * writer's transaction), and follows the schema's match keys ({@link changeMatchKeys}, in the transaction that puts
 * the schema). Tables are never dropped.
 */
import { createHash } from "node:crypto"
import type { ObjectSchema } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect } from "effect"

const hash = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

// The names made so far (a hash per request cost more than its lookup), forgotten all at once beyond 10,000.
const tableNames = new Map<string, string>()

/** The table of the rows of `objectName` in `workspace`. */
export const tableName = (workspace: string, objectName: string): string => {
  const key = `${workspace}\u0000${objectName}`
  let table = tableNames.get(key)
  if (table === undefined) {
    table = `records_${objectName.slice(0, 30)}_${hash(key).slice(0, 12)}`
    if (tableNames.size >= 10_000) tableNames.clear()
    tableNames.set(key, table)
  }
  return table
}

const keyColumns = new Map<string, string>()

/** The column of a table holding the values of the match key `field`. */
export const keyColumn = (field: string): string => {
  let column = keyColumns.get(field)
  if (column === undefined) {
    column = `key_${field.toLowerCase().slice(0, 40)}_${hash(field).slice(0, 8)}`
    keyColumns.set(field, column)
  }
  return column
}

/** The unique index of the match key `field` of `table`. */
const keyIndex = (table: string, field: string): string => `${table}_k${hash(field).slice(0, 8)}`

/** The text a match-key value is stored and compared as. */
export const keyText = (value: unknown): string => JSON.stringify(value)

/**
 * Makes writes to one object of a workspace (and its schema's changes) take turns on PostgreSQL, until the
 * transaction ends: two nodes must not both create an object's table, nor create it while the other changes the
 * schema. SQLite has one writer anyway.
 */
export const lockObject = (sql: SqlClient.SqlClient, workspace: string, objectName: string) =>
  sql.onDialectOrElse({
    pg: () => Effect.asVoid(sql`SELECT pg_advisory_xact_lock(hashtext(${`objects/${workspace}/${objectName}`}))`),
    orElse: () => Effect.void
  })

/**
 * Creates the sequence of row ids, starting after `last`: a sequence on PostgreSQL, each table's default; on SQLite
 * a one-row table, `record_ids`, that the inserts of every table go on from (see {@link insertWithIds}).
 */
export const createIdSequence = (sql: SqlClient.SqlClient, last: number): Effect.Effect<void, SqlError> =>
  sql.onDialectOrElse({
    pg: () =>
      Effect.asVoid(sql.unsafe(`CREATE SEQUENCE record_ids AS BIGINT MINVALUE 1 START WITH ${Math.max(1, last + 1)}`)),
    orElse: () =>
      Effect.zipRight(
        sql`CREATE TABLE record_ids (last BIGINT NOT NULL)`,
        Effect.asVoid(sql`INSERT INTO record_ids (last) VALUES (${last})`)
      )
  })

/**
 * The statements that make an insert into `table` take the next ids of the sequence, to run just before and just
 * after it, in its transaction. On SQLite each table's ids are `AUTOINCREMENT`, which goes on from the table's
 * `sqlite_sequence` row (SQLite lets it be written): that row is set to the sequence's last id before, and the
 * sequence to it after. (Inserting ids computed from the sequence instead took twice as long: SQLite appends rows
 * with ids it chose itself, and looks up every id it is given.) None on PostgreSQL.
 */
export const idStatements = (sql: SqlClient.SqlClient, table: string) =>
  sql.onDialectOrElse({
    pg: () => ({ before: [], after: [] }),
    orElse: () => ({
      before: [sql`UPDATE sqlite_sequence SET seq = (SELECT last FROM record_ids) WHERE name = ${table}`],
      after: [sql`UPDATE record_ids SET last = (SELECT seq FROM sqlite_sequence WHERE name = ${table})`]
    })
  })

/** Runs `insert`, a statement inserting rows of `table`, so that its rows take the next ids of the sequence. */
export const insertWithIds = <A, E, R>(
  sql: SqlClient.SqlClient,
  table: string,
  insert: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError, R> => {
  const { after, before } = idStatements(sql, table)
  return Effect.zipLeft(
    Effect.zipRight(Effect.all(before, { discard: true }), insert),
    Effect.all(after, { discard: true })
  )
}

/**
 * How full PostgreSQL fills the pages of a table whose rows upserts update (an object with match keys), in percent:
 * the room left lets an update that changes no key column write the row's new version in the same page, where no
 * index needs a new entry (a heap-only tuple). Measured: 5,000 rows of a 300,000-row table updated in 26–29 ms
 * at 80, 60–65 ms at PostgreSQL's default of 100; merging upserts × 1,000 through the service 40,900 → 44,703
 * records/s, × 10,000 38,603 → 40,229. Tables of objects without match keys are only ever appended to and stay full.
 */
export const updatedTableFillFactor = 80

/**
 * Leaves room in `table`'s pages for updates from now on ({@link updatedTableFillFactor}): pages already full stay
 * so. Nothing on SQLite, whose b-tree rewrites a row in place.
 */
export const leaveRoomForUpdates = (sql: SqlClient.SqlClient, table: string): Effect.Effect<void, SqlError> =>
  sql.onDialectOrElse({
    pg: () => Effect.asVoid(sql.unsafe(`ALTER TABLE ${table} SET (fillfactor = ${updatedTableFillFactor})`)),
    orElse: () => Effect.void
  })

/**
 * The tables of objects with match keys on PostgreSQL: the tables named as {@link tableName} names them that have a
 * column named as {@link keyColumn} names them. None on SQLite, which has no use for it.
 */
export const tablesWithMatchKeys = (sql: SqlClient.SqlClient): Effect.Effect<ReadonlyArray<string>, SqlError> =>
  sql.onDialectOrElse({
    pg: () =>
      Effect.map(
        sql<{ readonly name: string }>`SELECT DISTINCT c.relname AS name FROM pg_class c
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname LIKE 'key\\_%' AND NOT a.attisdropped
          WHERE c.relkind = 'r' AND c.relname LIKE 'records\\_%'
          AND c.relnamespace = to_regnamespace(current_schema())`,
        (rows) => rows.map((row) => row.name)
      ),
    orElse: () => Effect.succeed([])
  })

/**
 * Creates `table` with a key column and unique index per match key, unless it exists. Migration `6_object_tables`
 * makes the tables of existing objects with it: a change of the table's shape needs a migration of its own for the
 * tables already made.
 */
export const createTable = (
  sql: SqlClient.SqlClient,
  table: string,
  matchKeys: ReadonlyArray<string>
): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const id = sql.onDialectOrElse({
      pg: () => "BIGINT PRIMARY KEY DEFAULT nextval('record_ids')",
      orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT"
    })
    const keys = matchKeys.map((field) => `, ${keyColumn(field)} TEXT NULL`).join("")
    yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${table} (id ${id}, data TEXT NOT NULL,
      created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL${keys})`)
    yield* sql.onDialectOrElse({
      pg: () => Effect.void,
      orElse: () =>
        sql`INSERT INTO sqlite_sequence (name, seq) SELECT ${table}, 0
          WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ${table})`
    })
    for (const field of matchKeys) {
      yield* sql.unsafe(`CREATE UNIQUE INDEX IF NOT EXISTS ${keyIndex(table, field)} ON ${table} (${keyColumn(field)})`)
    }
    if (matchKeys.length > 0) yield* leaveRoomForUpdates(sql, table)
  })

/** Whether `table` exists, as this connection sees it. */
const tableExists = (sql: SqlClient.SqlClient, table: string): Effect.Effect<boolean, SqlError> =>
  Effect.map(
    sql.onDialectOrElse({
      pg: () => sql<{ readonly present: boolean }>`SELECT to_regclass(${table}) IS NOT NULL AS present`,
      orElse: () =>
        sql<{ readonly present: boolean }>`SELECT EXISTS (SELECT 1 FROM sqlite_master
          WHERE type = 'table' AND name = ${table}) AS present`
    }),
    (rows) => Boolean(rows[0]?.present)
  )

/** Rows read per statement while indexing the values of an added match key. */
const indexPage = 1_000

/**
 * Makes `field` a match key of `table`: adds its column, fills it from the stored rows, oldest first (where rows
 * share a value, the oldest holds it; the others cannot be found by that key), then adds its unique index.
 */
const addMatchKey = (sql: SqlClient.SqlClient, table: string, field: string): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const column = keyColumn(field)
    yield* sql.unsafe(`ALTER TABLE ${table} ADD COLUMN ${column} TEXT NULL`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX ${keyIndex(table, field)} ON ${table} (${column})`)
    let after = 0
    while (true) {
      const rows = yield* sql<{ readonly id: number; readonly data: string }>`SELECT id, data FROM ${sql(table)}
        WHERE id > ${after} ORDER BY id LIMIT ${indexPage}`
      // The first row of a page holding a value takes it, unless an older page's row holds it already.
      const seen = new Set<string>()
      const keys: Array<readonly [id: number, value: string]> = []
      for (const row of rows) {
        const value = (JSON.parse(row.data) as Record<string, unknown>)[field]
        if (value === undefined || value === null) continue
        const text = keyText(value)
        if (seen.has(text)) continue
        seen.add(text)
        keys.push([Number(row.id), text])
      }
      if (keys.length > 0) {
        const values = sql.csv(keys.map(([id, text]) => sql`(${id}, ${text})`))
        const id = sql.onDialectOrElse({ pg: () => sql`k.id::bigint`, orElse: () => sql`k.id` })
        yield* sql`WITH k(id, value) AS (VALUES ${values})
          UPDATE ${sql(table)} SET ${sql(column)} = k.value FROM k
          WHERE ${sql(table)}.id = ${id} AND NOT EXISTS (SELECT 1 FROM ${sql(table)} AS h WHERE h.${sql(column)} = k.value)`
      }
      if (rows.length < indexPage) return
      after = Number(rows[rows.length - 1]!.id)
    }
  })

/** Drops the match key `field` of `table`: its index and its column (the rows keep their values in `data`). */
const dropMatchKey = (sql: SqlClient.SqlClient, table: string, field: string): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    yield* sql.unsafe(`DROP INDEX IF EXISTS ${keyIndex(table, field)}`)
    yield* sql.unsafe(`ALTER TABLE ${table} DROP COLUMN ${keyColumn(field)}`)
  })

/**
 * Brings the table of `definition` in line with its match keys when the schema changes from one whose match keys
 * were `previousMatchKeys`: creates the table when the object has none yet, else adds and drops key columns. Runs in
 * the transaction that puts the schema, which holds the object's lock.
 */
export const changeMatchKeys = (
  sql: SqlClient.SqlClient,
  workspace: string,
  definition: ObjectSchema.ObjectDefinition,
  previousMatchKeys: ReadonlyArray<string>
): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const table = tableName(workspace, definition.name)
    if (!(yield* tableExists(sql, table))) return yield* createTable(sql, table, definition.matchKeys)
    for (const field of previousMatchKeys) {
      if (!definition.matchKeys.includes(field)) yield* dropMatchKey(sql, table, field)
    }
    for (const field of definition.matchKeys) {
      if (!previousMatchKeys.includes(field)) yield* addMatchKey(sql, table, field)
    }
    if (previousMatchKeys.length === 0 && definition.matchKeys.length > 0) yield* leaveRoomForUpdates(sql, table)
  })

/**
 * Makes sure each object's table exists before a write, with as little work as possible: once a table is known to
 * be committed, nothing. A table this process creates is created in the writer's transaction, which may still roll
 * back; it is taken as committed once a statement outside every transaction finds it, checked after the writer's
 * transaction is over (SQLite: that statement waits for the transaction's end; PostgreSQL: it sees only committed
 * tables, and the check is made again by the next write until it does).
 */
export const makeTableKeeper = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const committed = new Set<string>()
  const outsideTransactions = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.mapInputContext(effect, (context: Context.Context<never>) =>
      Context.omit(SqlClient.TransactionConnection)(context)
    )

  const confirm = (table: string) =>
    Effect.forkDaemon(
      outsideTransactions(tableExists(sql, table)).pipe(
        Effect.tap((present) => {
          if (present) committed.add(table)
        }),
        Effect.ignore
      )
    )

  return {
    /**
     * The table of `objectName`'s rows in `workspace`, if it exists (reads of an object never written find none).
     */
    existing: (workspace: string, objectName: string): Effect.Effect<string | undefined, SqlError> => {
      const table = tableName(workspace, objectName)
      if (committed.has(table)) return Effect.succeed(table)
      return Effect.flatMap(tableExists(sql, table), (present) =>
        present ? Effect.as(confirm(table), table) : Effect.succeed(undefined)
      )
    },

    /** The table of `definition`'s rows in `workspace`, created when missing. Run in the writer's transaction. */
    ensure: (workspace: string, definition: ObjectSchema.ObjectDefinition): Effect.Effect<string, SqlError> => {
      const table = tableName(workspace, definition.name)
      if (committed.has(table)) return Effect.succeed(table)
      return Effect.gen(function* () {
        if (yield* tableExists(sql, table)) {
          yield* confirm(table)
          return table
        }
        yield* lockObject(sql, workspace, definition.name)
        yield* createTable(sql, table, definition.matchKeys)
        yield* confirm(table)
        return table
      })
    }
  } as const
})
