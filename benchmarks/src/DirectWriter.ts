/**
 * Writing a batch of records straight into the database, the way a user would without batchwrite: a natural table
 * per object (its fields as columns, a unique index per match key), one transaction per batch, and
 * - on SQLite (better-sqlite3, WAL, `synchronous = NORMAL` like the service): prepared multi-row `INSERT`s of up to
 *   500 rows each (statements cached by row count; SQLite's bind-parameter limit rules out one statement for
 *   10,000 records of 8 fields);
 * - on PostgreSQL (node-postgres): one `INSERT … SELECT * FROM unnest($1::text[], …)` per batch, one array
 *   parameter per column, whatever the number of records; appends also by `COPY … FROM STDIN` (pg-copy-streams,
 *   text format), and the database ceiling takes the faster of the two (`methods`).
 * Upserts are `INSERT … ON CONFLICT (email) DO UPDATE` with a field-level merge: each row carries a bit mask of the
 * fields its record had (`present_fields`), and `SET field = CASE WHEN excluded.present_fields & bit <> 0 THEN
 * excluded.field ELSE field END`, so a field left out keeps its value and an explicit `null` sets null, as in
 * SPEC §1.4. Records are sorted by key before a PostgreSQL upsert so that concurrent batches lock rows in one order
 * (no deadlocks); a batch never repeats a key (`Bodies.ts`).
 *
 * The database ceiling (`DatabaseCeiling.ts`) and the synchronous baseline (`syncBaselineServer.ts`) both use it.
 */
import { createRequire } from "node:module"
import { Readable, type Writable } from "node:stream"
import { pipeline } from "node:stream/promises"

const require = createRequire(import.meta.url)

/** A record as sent in a body. */
export type Fields = Readonly<Record<string, unknown>>

/** The batch operations written directly. */
export type DirectOperation = "append-batch" | "upsert-batch"

/** How a batch is written: a multi-row `INSERT` (SQLite), `unnest` of array parameters or `COPY` (PostgreSQL). */
export type WriteMethod = "insert" | "unnest" | "copy"

/** Writes batches into a database's natural tables. */
export interface DirectWriter {
  /** Drops and creates the tables: empty, with their indexes. */
  readonly reset: () => Promise<void>
  /** The ways this writer can write `operation`'s batches, the default first. */
  readonly methods: (operation: DirectOperation) => ReadonlyArray<WriteMethod>
  /**
   * Writes one batch in one transaction, by `method` (default: the first of `methods`); resolves after the commit.
   */
  readonly write: (operation: DirectOperation, records: ReadonlyArray<Fields>, method?: WriteMethod) => Promise<void>
  readonly close: () => Promise<void>
}

type ColumnType = "text" | "timestamptz" | "jsonb"

interface Table {
  readonly name: string
  readonly columns: ReadonlyArray<readonly [name: string, type: ColumnType]>
}

const events: Table = {
  name: "events",
  columns: [
    ["session_id", "text"],
    ["event", "text"],
    ["url", "text"],
    ["occurred_at", "timestamptz"],
    ["user_id", "text"],
    ["properties", "jsonb"]
  ]
}

/** `profiles`; upserts go by `email`, and `external_id` is unique too (both are match keys). */
const profiles: Table = {
  name: "profiles",
  columns: [
    ["email", "text"],
    ["external_id", "text"],
    ["first_name", "text"],
    ["last_name", "text"],
    ["tier", "text"],
    ["last_seen_at", "timestamptz"],
    ["attributes", "jsonb"]
  ]
}

const tableOf = (operation: DirectOperation) => (operation === "append-batch" ? events : profiles)

/** A column's value as bound: JSON fields as their text. */
const boundValue = (record: Fields, name: string, type: ColumnType): unknown => {
  const value = record[name]
  if (value === undefined || value === null) return null
  return type === "jsonb" ? JSON.stringify(value) : value
}

/** Bit `i` set when the record has the `i`-th column (explicit `null` included). */
const presentFields = (record: Fields): number => {
  let mask = 0
  profiles.columns.forEach(([name], i) => {
    if (name in record) mask |= 1 << i
  })
  return mask
}

/** `SET` of the merge: a field the record left out keeps the stored value. */
const mergeSet = (stored: string) =>
  [
    ...profiles.columns
      .slice(1)
      .map(
        ([name], i) =>
          `${name} = CASE WHEN (excluded.present_fields & ${1 << (i + 1)}) <> 0 THEN excluded.${name} ELSE ${stored}.${name} END`
      ),
    `present_fields = ${stored}.present_fields | excluded.present_fields`
  ].join(", ")

const createStatements = (dialect: "sqlite" | "pg"): ReadonlyArray<string> => {
  const type = (t: ColumnType) => (dialect === "sqlite" ? "TEXT" : t)
  const id = dialect === "sqlite" ? "id INTEGER PRIMARY KEY" : "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
  const columns = (table: Table) => table.columns.map(([name, t]) => `${name} ${type(t)}`).join(", ")
  return [
    "DROP TABLE IF EXISTS events",
    "DROP TABLE IF EXISTS profiles",
    `CREATE TABLE events (${id}, ${columns(events)})`,
    `CREATE TABLE profiles (${id}, ${columns(profiles)}, present_fields integer NOT NULL)`,
    "CREATE UNIQUE INDEX profiles_email ON profiles (email)",
    "CREATE UNIQUE INDEX profiles_external_id ON profiles (external_id)"
  ]
}

// --- SQLite -----------------------------------------------------------------------------------------------------

interface SqliteStatement {
  run(...values: ReadonlyArray<unknown>): unknown
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement
  exec(sql: string): void
  pragma(pragma: string): unknown
  transaction<A extends ReadonlyArray<unknown>>(fn: (...args: A) => void): (...args: A) => void
  close(): void
}

/** Rows per SQLite statement (8 columns × 500 = 4,000 parameters, under the 32,766 limit). */
const sqliteChunk = 500

/** A writer on the SQLite file `filename` (created when missing), on this thread. */
export const openSqliteWriter = (filename: string): DirectWriter => {
  const Database = require("better-sqlite3") as new (filename: string) => SqliteDatabase
  const db = new Database(filename)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  const statements = new Map<string, SqliteStatement>()
  const statement = (operation: DirectOperation, rows: number): SqliteStatement => {
    const key = `${operation} ${rows}`
    let prepared = statements.get(key)
    if (prepared === undefined) {
      const table = tableOf(operation)
      const upsert = operation === "upsert-batch"
      const names = [...table.columns.map(([name]) => name), ...(upsert ? ["present_fields"] : [])]
      const tuple = `(${names.map(() => "?").join(", ")})`
      prepared = db.prepare(
        `INSERT INTO ${table.name} (${names.join(", ")}) VALUES ${Array.from({ length: rows }, () => tuple).join(", ")}` +
          (upsert ? ` ON CONFLICT (email) DO UPDATE SET ${mergeSet("profiles")}` : "")
      )
      statements.set(key, prepared)
    }
    return prepared
  }
  const writeBatch = db.transaction((operation: DirectOperation, records: ReadonlyArray<Fields>) => {
    const table = tableOf(operation)
    const upsert = operation === "upsert-batch"
    for (let start = 0; start < records.length; start += sqliteChunk) {
      const chunk = records.slice(start, start + sqliteChunk)
      const values: Array<unknown> = []
      for (const record of chunk) {
        for (const [name, type] of table.columns) values.push(boundValue(record, name, type))
        if (upsert) values.push(presentFields(record))
      }
      statement(operation, chunk.length).run(...values)
    }
  })
  return {
    reset: async () => {
      statements.clear()
      for (const sql of createStatements("sqlite")) db.exec(sql)
    },
    methods: () => ["insert"],
    write: async (operation, records) => writeBatch(operation, records),
    close: async () => db.close()
  }
}

// --- PostgreSQL -------------------------------------------------------------------------------------------------

interface PgPool {
  query(text: string, values?: ReadonlyArray<unknown>): Promise<unknown>
  connect(): Promise<PgClient>
  end(): Promise<void>
}
interface PgClient {
  query<S>(stream: S): S
  release(): void
}

/** A value in `COPY`'s text format: `\N` for null; backslash, tab, newline and carriage return escaped. */
const copyText = (value: unknown): string =>
  value === null
    ? "\\N"
    : String(value).replace(/[\\\t\n\r]/g, (c) =>
        c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"
      )

/** `records` as `COPY`'s text format: one line per record, its columns separated by tabs. */
const copyLines = (table: Table, records: ReadonlyArray<Fields>): string => {
  const lines: Array<string> = []
  for (const record of records) {
    lines.push(table.columns.map(([name, type]) => copyText(boundValue(record, name, type))).join("\t"))
  }
  return `${lines.join("\n")}\n`
}

/** A writer on the PostgreSQL database `url` through a pool of `poolSize` connections. */
export const openPgWriter = (url: string, poolSize: number): DirectWriter => {
  const { Pool } = require("pg") as {
    Pool: new (config: { connectionString: string; max: number; application_name: string }) => PgPool
  }
  const pool = new Pool({ connectionString: url, max: poolSize, application_name: "batchwrite-bench-direct" })
  const sqlOf = (operation: DirectOperation) => {
    const table = tableOf(operation)
    const upsert = operation === "upsert-batch"
    const names = [...table.columns.map(([name]) => name), ...(upsert ? ["present_fields"] : [])]
    const arrays = [...table.columns.map(([, type], i) => `$${i + 1}::${type}[]`), ...(upsert ? [`$8::integer[]`] : [])]
    return (
      `INSERT INTO ${table.name} (${names.join(", ")}) SELECT * FROM unnest(${arrays.join(", ")})` +
      (upsert ? ` ON CONFLICT (email) DO UPDATE SET ${mergeSet("profiles")}` : "")
    )
  }
  const statements = { "append-batch": sqlOf("append-batch"), "upsert-batch": sqlOf("upsert-batch") } as const
  const { from: copyFrom } = require("pg-copy-streams") as { from: (sql: string) => Writable }
  /** Appends `records` with one `COPY` (its own transaction, committed when the stream finishes). */
  const copy = async (records: ReadonlyArray<Fields>) => {
    const client = await pool.connect()
    try {
      const names = events.columns.map(([name]) => name).join(", ")
      await pipeline(
        Readable.from([copyLines(events, records)]),
        client.query(copyFrom(`COPY events (${names}) FROM STDIN`))
      )
    } finally {
      client.release()
    }
  }
  return {
    reset: async () => {
      for (const sql of createStatements("pg")) await pool.query(sql)
    },
    methods: (operation) => (operation === "append-batch" ? ["unnest", "copy"] : ["unnest"]),
    write: async (operation, records, method) => {
      if (method === "copy") return copy(records)
      const table = tableOf(operation)
      const upsert = operation === "upsert-batch"
      const ordered = upsert
        ? [...records].sort((a, b) =>
            String(a.email) < String(b.email) ? -1 : String(a.email) > String(b.email) ? 1 : 0
          )
        : records
      const parameters: Array<Array<unknown>> = table.columns.map(([name, type]) =>
        ordered.map((record) => boundValue(record, name, type))
      )
      if (upsert) parameters.push(ordered.map(presentFields))
      // One statement: its own transaction, committed before the query resolves.
      await pool.query(statements[operation], parameters)
    },
    close: () => pool.end()
  }
}
