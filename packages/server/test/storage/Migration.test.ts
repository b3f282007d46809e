/**
 * The upgrade to a table per object (migration 6): a database written by the previous layout (every object's rows in
 * `records`, match-key values in `record_keys`) is opened by this version, and every row is found where it was: same
 * `_id`, same fields, found by its match keys, merged into by upserts, and new rows get larger ids.
 */
import { ObjectSchema } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, type Layer, Option } from "effect"
import type { DatabaseSettings } from "../../src/Server.js"
import { migrations } from "../../src/storage/Migrations.js"
import * as RecordTables from "../../src/storage/RecordTables.js"
import { RecordsRepo } from "../../src/storage/RecordsRepo.js"
import { forEachAdapter, onPostgres, putObject, storageWith } from "./TestStorage.js"

/** A client on the database, with no migration run. */
const bareClient = (settings: DatabaseSettings): Layer.Layer<SqlClient.SqlClient, unknown> =>
  settings._tag === "Sqlite"
    ? SqliteClient.layer({ filename: settings.filename })
    : PgClient.layer({ url: settings.url })

const things: ObjectSchema.ObjectDefinition = {
  name: "things",
  fields: { k: { type: "string", required: true }, n: { type: "integer" } },
  matchKeys: ["k"]
}

/** The storage as migrations 1–5 left it, with rows written the way that version wrote them. */
const previousLayout = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => Number.parseInt(name, 10) <= 5))
  yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: "effect_sql_migrations" })
  const rows: ReadonlyArray<readonly [id: number, workspace: string, object: string, data: unknown]> = [
    [1, "w", "profiles", { email: "a@x.io", external_id: "x1", tier: "gold" }],
    [2, "w", "events", { event: "signup", occurred_at: "2026-01-01T00:00:00Z" }],
    [3, "w", "profiles", { email: "b@x.io" }],
    [4, "w2", "things", { k: "q", n: 1 }]
  ]
  for (const [id, workspace, object, data] of rows) {
    yield* sql`INSERT INTO records ${sql.insert({
      id,
      workspace,
      object_name: object,
      data: JSON.stringify(data),
      created_at: 1_000 * id,
      updated_at: 1_000 * id
    })}`
  }
  const keys: ReadonlyArray<readonly [workspace: string, object: string, field: string, value: string, id: number]> = [
    ["w", "profiles", "email", '"a@x.io"', 1],
    ["w", "profiles", "external_id", '"x1"', 1],
    ["w", "profiles", "email", '"b@x.io"', 3],
    ["w2", "things", "k", '"q"', 4]
  ]
  for (const [workspace, object, field, value, id] of keys) {
    yield* sql`INSERT INTO record_keys ${sql.insert({ workspace, object_name: object, field, value, record_id: id })}`
  }
  yield* sql`INSERT INTO objects ${sql.insert({
    workspace: "w2",
    name: "things",
    definition: JSON.stringify(things),
    created_at: 0,
    updated_at: 0
  })}`
})

forEachAdapter((adapter) => {
  describe("migration to a table per object", () => {
    it.scoped("keeps every row, its id, its fields and its match keys", () =>
      Effect.gen(function* () {
        const settings = yield* adapter.freshDatabase
        yield* Effect.scoped(Effect.provide(previousLayout, bareClient(settings)))
        yield* Effect.gen(function* () {
          const records = yield* RecordsRepo
          const page = (workspace: string, object: string, filter?: { field: string; value: unknown }) =>
            Effect.map(
              records.list(workspace, object, { limit: 10, cursor: undefined, filter: Option.fromNullable(filter) }),
              ({ records }) => records.map(({ _createdAt, _updatedAt, ...rest }) => rest)
            )
          assert.deepStrictEqual(yield* page("w", "profiles"), [
            { _id: "1", email: "a@x.io", external_id: "x1", tier: "gold" },
            { _id: "3", email: "b@x.io" }
          ])
          assert.deepStrictEqual(yield* page("w", "events"), [
            { _id: "2", event: "signup", occurred_at: "2026-01-01T00:00:00Z" }
          ])
          assert.deepStrictEqual(yield* page("w", "profiles", { field: "external_id", value: "x1" }), [
            { _id: "1", email: "a@x.io", external_id: "x1", tier: "gold" }
          ])
          assert.deepStrictEqual(yield* page("w2", "things", { field: "k", value: "q" }), [{ _id: "4", k: "q", n: 1 }])
          const stored = Option.getOrThrow(yield* records.get("w", "profiles", "1"))
          assert.strictEqual(stored._createdAt, new Date(1_000).toISOString())

          const now = new Date()
          const outcomes = yield* records.upsert(
            "w",
            ObjectSchema.profilesObject,
            "email",
            [
              { index: 0, record: { email: "a@x.io", first_name: "Ada" } },
              { index: 1, record: { email: "c@x.io", external_id: "x1" } },
              { index: 2, record: { email: "c@x.io" } }
            ],
            now
          )
          assert.deepStrictEqual(
            outcomes.map((outcome) => outcome._tag),
            ["Updated", "Rejected", "Inserted"]
          )
          assert.deepStrictEqual(yield* page("w", "profiles"), [
            { _id: "1", email: "a@x.io", external_id: "x1", tier: "gold", first_name: "Ada" },
            { _id: "3", email: "b@x.io" },
            { _id: "5", email: "c@x.io" }
          ])
          // The schema goes on changing as before: a new match key is indexed from the migrated rows.
          yield* putObject("w2", { ...things, fields: { ...things.fields }, matchKeys: ["k", "n"] })
          assert.deepStrictEqual(yield* page("w2", "things", { field: "n", value: 1 }), [{ _id: "4", k: "q", n: 1 }])
        }).pipe(Effect.provide(storageWith(settings)))
      })
    )
  })
})

onPostgres("tables' pages", (adapter) => {
  it.scoped("leaves room for updates in the pages of tables with match keys (migration 7 too)", () =>
    Effect.gen(function* () {
      const settings = yield* adapter.freshDatabase
      yield* Effect.scoped(Effect.provide(previousLayout, bareClient(settings)))
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const fillFactors = Effect.map(
          sql<{ readonly name: string; readonly options: ReadonlyArray<string> | null }>`SELECT
              relname AS name, reloptions AS options FROM pg_class WHERE relkind = 'r' AND relname LIKE 'records%'`,
          (rows) => Object.fromEntries(rows.map(({ name, options }) => [name.split("_")[1], (options ?? []).join(",")]))
        )
        const roomLeft = `fillfactor=${RecordTables.updatedTableFillFactor}`
        assert.deepStrictEqual(yield* fillFactors, { profiles: roomLeft, events: "", things: roomLeft })
        // A table made before migration 7 (PostgreSQL's default) gets it from the migration.
        yield* sql.unsafe(`ALTER TABLE ${RecordTables.tableName("w", "profiles")} RESET (fillfactor)`)
        yield* migrations["7_room_for_updates"]!
        assert.deepStrictEqual(yield* fillFactors, { profiles: roomLeft, events: "", things: roomLeft })
      }).pipe(Effect.provide(storageWith(settings)))
    })
  )
})

onPostgres("job bodies", (adapter) => {
  it.scoped("are compressed with LZ4 (migration 8), where the server has it", () =>
    Effect.gen(function* () {
      const settings = yield* adapter.freshDatabase
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [server] = yield* sql<{ readonly lz4: boolean }>`SELECT 'lz4' = ANY (enumvals) AS lz4
          FROM pg_settings WHERE name = 'default_toast_compression'`
        const [column] = yield* sql<{ readonly compression: string }>`SELECT attcompression AS compression
          FROM pg_attribute WHERE attrelid = 'job_bodies'::regclass AND attname = 'body'`
        // "l": LZ4; "": the server's default (pglz).
        assert.strictEqual(column?.compression, server?.lz4 === true ? "l" : "")
      }).pipe(Effect.provide(storageWith(settings)))
    })
  )
})
