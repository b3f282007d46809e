/**
 * Where an upsert's merge should run: in the service (read the rows of the batch's keys, merge in JavaScript, write
 * them back: what `RecordsRepo` does) or in the database (`INSERT … ON CONFLICT (key) DO UPDATE` merging the JSON
 * document: `json_patch` on SQLite, `jsonb ||` on PostgreSQL). Both write the service's layout (`RecordTables`): the
 * row's fields as one JSON document, a column and a unique index per match key. One client, no HTTP, no validation:
 * only the write path, on a table of 300,000 rows, 12 batches of 10,000 records, half of them new keys and half
 * partial updates of keys written before.
 *
 * The database's merge here is the best case for it: it ignores what SPEC §1.4 asks beyond the merge (an explicit
 * `null` is dropped by `json_patch`, a key taken from another row fails the whole statement instead of one record,
 * no stale check, no per-record outcome), and its batches never repeat a key.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks merge-placement [sqlite|postgres]` (PostgreSQL on 127.0.0.1:5432, user
 * `postgres`, its `postgres` database, where it makes and drops the table `merge_placement`).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Array as Arr } from "effect"

const require = createRequire(import.meta.url)

type Fields = Record<string, unknown>

const existingRows = 300_000
const batchSize = 10_000
const batchCount = 12

const fullRecord = (i: number): Fields => ({
  email: `u${i}@x.io`,
  external_id: `e${i}`,
  name: `Name ${i}`,
  tier: "gold",
  score: i,
  tags: ["a", "b"],
  updated: 1
})
const partialRecord = (i: number): Fields => ({ email: `u${i}@x.io`, score: i + 1, updated: 2 })

/** The batches, each with distinct keys: every other record a new key, the others a key written before. */
const makeBatches = (): Array<Array<Fields>> => {
  let next = existingRows
  return Array.from({ length: batchCount }, () => {
    const byKey = new Map<string, Fields>()
    for (let i = 0; i < batchSize; i++) {
      const record = i % 2 === 0 ? fullRecord(next++) : partialRecord(Math.floor(Math.random() * next))
      byKey.set(String(record.email), record)
    }
    return Array.from(byKey.values())
  })
}

const keyText = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value))

/** A row read back: its id, its data merged in memory, whether a record changed it. */
interface Merged {
  readonly id: number | undefined
  data: Fields
  changed: boolean
}

/** Merges `records` into the rows read (by key text), in order; answers the changed stored rows and the new ones. */
const mergeInMemory = (records: ReadonlyArray<Fields>, read: Map<string, Merged>) => {
  const created: Array<Merged> = []
  for (const record of records) {
    const key = keyText(record.email)!
    const row = read.get(key)
    if (row !== undefined) {
      row.data = { ...row.data, ...record }
      row.changed = true
      continue
    }
    const fresh: Merged = { id: undefined, data: { ...record }, changed: true }
    read.set(key, fresh)
    created.push(fresh)
  }
  const changed = Array.from(read.values()).filter((row) => row.changed && row.id !== undefined)
  return { changed, created }
}

const placeholders = (rows: number, columns: number) =>
  Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => "?").join(",")})`).join(",")

// --- SQLite -----------------------------------------------------------------------------------------------------

interface SqliteDatabase {
  prepare(sql: string): {
    run(...values: ReadonlyArray<unknown>): unknown
    all(
      ...values: ReadonlyArray<unknown>
    ): Array<{ readonly id: number; readonly data: string; readonly key_email: string }>
  }
  exec(sql: string): void
  pragma(pragma: string): unknown
  transaction(fn: () => void): () => void
  close(): void
}

const onSqlite = async (where: "service" | "database"): Promise<number> => {
  const directory = mkdtempSync(join(tmpdir(), "batchwrite-merge-"))
  const Database = require("better-sqlite3") as new (filename: string) => SqliteDatabase
  const db = new Database(join(directory, "merge.db"))
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    db.pragma("cache_size = -65536")
    db.exec(`CREATE TABLE r (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL, created_at INTEGER,
      updated_at INTEGER, key_email TEXT, key_ext TEXT);
      CREATE UNIQUE INDEX r_email ON r (key_email); CREATE UNIQUE INDEX r_ext ON r (key_ext)`)
    const insert = (rows: ReadonlyArray<Fields>, now: number, onConflict = "") =>
      db
        .prepare(`INSERT INTO r (data, created_at, updated_at, key_email, key_ext) VALUES ${placeholders(rows.length, 5)}
          ${onConflict}`)
        .run(...rows.flatMap((row) => [JSON.stringify(row), now, now, keyText(row.email), keyText(row.external_id)]))
    db.transaction(() => {
      for (const rows of Arr.chunksOf(
        Array.from({ length: existingRows }, (_, i) => fullRecord(i)),
        500
      ))
        insert(rows, 1)
    })()
    const inService = (records: ReadonlyArray<Fields>, now: number) => {
      const keys = records.map((record) => keyText(record.email))
      const read = new Map<string, Merged>()
      for (const list of Arr.chunksOf(keys, 5_000)) {
        const found = db.prepare(
          `SELECT id, data, key_email FROM r WHERE key_email IN (${list.map(() => "?").join(",")})`
        )
        for (const row of found.all(...list))
          read.set(row.key_email, { id: row.id, data: JSON.parse(row.data), changed: false })
      }
      const { changed, created } = mergeInMemory(records, read)
      db.transaction(() => {
        for (const rows of Arr.chunksOf(changed, 500)) {
          db.prepare(`INSERT INTO r (id, data, created_at, updated_at) VALUES ${placeholders(rows.length, 4)}
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`).run(
            ...rows.flatMap((row) => [row.id, JSON.stringify(row.data), now, now])
          )
        }
        for (const rows of Arr.chunksOf(created, 500))
          insert(
            rows.map((row) => row.data),
            now
          )
      })()
    }
    const inDatabase = (records: ReadonlyArray<Fields>, now: number) =>
      db.transaction(() => {
        for (const rows of Arr.chunksOf(records, 500)) {
          insert(
            rows,
            now,
            `ON CONFLICT (key_email) DO UPDATE SET data = json_patch(r.data, excluded.data),
            updated_at = excluded.updated_at, key_ext = coalesce(excluded.key_ext, r.key_ext)`
          )
        }
      })()
    return await timed(async (records, now) => (where === "service" ? inService : inDatabase)(records, now))
  } finally {
    db.close()
    rmSync(directory, { recursive: true, force: true })
  }
}

// --- PostgreSQL -----------------------------------------------------------------------------------------------

interface PgClient {
  connect(): Promise<void>
  query(
    text: string,
    values?: ReadonlyArray<unknown>
  ): Promise<{ readonly rows: Array<{ readonly id: string; readonly data: string; readonly key_email: string }> }>
  end(): Promise<void>
}

const onPostgres = async (where: "service" | "database"): Promise<number> => {
  const { Client } = require("pg") as {
    Client: new (config: { host: string; port: number; user: string; database: string }) => PgClient
  }
  const client = new Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" })
  await client.connect()
  // jsonb for the database's merge (`||`), text (the service's exact JSON) for the service's.
  const type = where === "database" ? "jsonb" : "text"
  try {
    await client.query(`DROP TABLE IF EXISTS merge_placement;
      CREATE TABLE merge_placement (id BIGSERIAL PRIMARY KEY, data ${type} NOT NULL, created_at BIGINT,
        updated_at BIGINT, key_email TEXT, key_ext TEXT) WITH (fillfactor = 80);
      CREATE UNIQUE INDEX merge_placement_email ON merge_placement (key_email);
      CREATE UNIQUE INDEX merge_placement_ext ON merge_placement (key_ext)`)
    const insert = (rows: ReadonlyArray<Fields>, now: number, onConflict = "") =>
      client.query(
        `INSERT INTO merge_placement AS r (data, created_at, updated_at, key_email, key_ext)
          SELECT d::${type}, ${now}, ${now}, e, x FROM unnest($1::text[], $2::text[], $3::text[]) AS u(d, e, x)
          ${onConflict}`,
        [
          rows.map((row) => JSON.stringify(row)),
          rows.map((row) => keyText(row.email)),
          rows.map((row) => keyText(row.external_id))
        ]
      )
    for (const rows of Arr.chunksOf(
      Array.from({ length: existingRows }, (_, i) => fullRecord(i)),
      10_000
    )) {
      await insert(rows, 1)
    }
    await client.query("VACUUM ANALYZE merge_placement")
    const inService = async (records: ReadonlyArray<Fields>, now: number) => {
      const read = new Map<string, Merged>()
      const found = await client.query(
        "SELECT id, data, key_email FROM merge_placement WHERE key_email = ANY((SELECT $1::text[])::text[])",
        [records.map((record) => keyText(record.email))]
      )
      for (const row of found.rows)
        read.set(row.key_email, { id: Number(row.id), data: JSON.parse(row.data), changed: false })
      const { changed, created } = mergeInMemory(records, read)
      await client.query("BEGIN")
      await client.query("SET LOCAL plan_cache_mode = force_generic_plan")
      if (changed.length > 0) {
        const values = changed.map((_, i) => `($${2 * i + 1}::bigint, $${2 * i + 2})`).join(",")
        await client.query(
          `UPDATE merge_placement AS r SET data = u.data, updated_at = ${now} FROM (VALUES ${values}) AS u(id, data)
            WHERE r.id = ANY((SELECT $${2 * changed.length + 1}::bigint[])::bigint[]) AND r.id = u.id`,
          [...changed.flatMap((row) => [row.id, JSON.stringify(row.data)]), changed.map((row) => row.id)]
        )
      }
      if (created.length > 0)
        await insert(
          created.map((row) => row.data),
          now
        )
      await client.query("COMMIT")
    }
    const inDatabase = async (records: ReadonlyArray<Fields>, now: number) => {
      await client.query("BEGIN")
      await insert(
        records,
        now,
        `ON CONFLICT (key_email) DO UPDATE SET data = r.data || excluded.data, updated_at = excluded.updated_at,
          key_ext = coalesce(excluded.key_ext, r.key_ext)`
      )
      await client.query("COMMIT")
    }
    return await timed(where === "service" ? inService : inDatabase)
  } finally {
    await client.query("DROP TABLE IF EXISTS merge_placement")
    await client.end()
  }
}

/** Records per second writing every batch with `write`, each batch parsed from its JSON text first. */
const timed = async (write: (records: ReadonlyArray<Fields>, now: number) => Promise<void>): Promise<number> => {
  const bodies = makeBatches().map((records) => JSON.stringify({ records }))
  let records = 0
  const started = performance.now()
  for (const [i, body] of bodies.entries()) {
    const batch = (JSON.parse(body) as { records: Array<Fields> }).records
    records += batch.length
    await write(batch, 1_000 + i)
  }
  return records / ((performance.now() - started) / 1000)
}

const backends = process.argv.slice(2).filter((arg) => arg === "sqlite" || arg === "postgres")
for (const backend of backends.length > 0 ? backends : ["sqlite", "postgres"]) {
  // Alternating, twice each: the machine's speed drifts between runs.
  for (const where of ["service", "database", "service", "database"] as const) {
    const rate = backend === "sqlite" ? await onSqlite(where) : await onPostgres(where)
    process.stdout.write(`${backend}: merge in the ${where}: ${Math.round(rate).toLocaleString("en-US")} records/s\n`)
  }
}
