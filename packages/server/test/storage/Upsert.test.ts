import { ObjectsRepo } from "../../src/storage/ObjectsRepo.js"
import { ErrorCode, ObjectSchema } from "@batchwrite/core"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, FastCheck as fc, Option } from "effect"

import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { filterValue, RecordsRepo } from "../../src/storage/RecordsRepo.js"
import {
  acceptBatch,
  countStoredRows,
  countKeyValues,
  forEachAdapter,
  processAll,
  putObject,
  things,
  runBatch,
  storageOn,
  storedRows
} from "./TestStorage.js"

forEachAdapter((adapter) => {
  const TestStorage = storageOn(adapter)

  const upsertProfiles = (workspace: string, records: ReadonlyArray<unknown>, matchKey = "email") =>
    runBatch({ workspace, object: "profiles", matchKey, records })

  const appendProfiles = (workspace: string, records: ReadonlyArray<unknown>) =>
    runBatch({ workspace, object: "profiles", records })

  describe("upsert: merge semantics (SPEC §1.4)", () => {
    it.effect("present fields overwrite, explicit null sets null, absent fields keep their value", () =>
      Effect.gen(function* () {
        const first = yield* upsertProfiles("w", [
          { email: "Ann@X.io", first_name: "Ann", last_name: "Lee", tier: "gold", attributes: { a: [1, 2] } }
        ])
        assert.deepStrictEqual(first.metrics, {
          totalRows: 1,
          processedRows: 1,
          insertedRows: 1,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 0
        })
        const second = yield* upsertProfiles("w", [{ email: "ann@x.io", first_name: null, tier: "silver" }])
        assert.strictEqual(second.metrics.updatedRows, 1)
        assert.deepStrictEqual(yield* storedRows("w", "profiles"), [
          { _id: "1", email: "ann@x.io", first_name: null, last_name: "Lee", tier: "silver", attributes: { a: [1, 2] } }
        ])
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("inside a batch, records apply in array order, merging over rows the batch inserted", () =>
      Effect.gen(function* () {
        const job = yield* upsertProfiles("w", [
          { email: "a@x.io", tier: "bronze", first_name: "A" },
          { email: "b@x.io", tier: "bronze" },
          { email: "A@x.io", tier: "silver" },
          { email: "a@x.io", first_name: null, last_name: "Z" },
          { email: "a@x.io", tier: "gold" }
        ])
        assert.strictEqual(job.metrics.insertedRows, 2)
        assert.strictEqual(job.metrics.updatedRows, 3)
        assert.deepStrictEqual(yield* storedRows("w", "profiles"), [
          { _id: "1", email: "a@x.io", tier: "gold", first_name: null, last_name: "Z" },
          { _id: "2", email: "b@x.io", tier: "bronze" }
        ])
        const records = yield* RecordsRepo
        const stored = Option.getOrThrow(yield* records.get("w", "profiles", "1"))
        assert.isTrue(stored._createdAt <= stored._updatedAt)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("across batches, records apply in acceptance order", () =>
      Effect.gen(function* () {
        for (let i = 0; i < 5; i++) {
          yield* acceptBatch({
            workspace: "w",
            object: "profiles",
            matchKey: "email",
            records: [{ email: "a@x.io", tier: `t${i}`, ...(i === 2 ? { first_name: "two" } : {}) }]
          })
        }
        // Appends to an object with match keys take their place in the same order.
        yield* acceptBatch({ workspace: "w", object: "profiles", records: [{ email: "b@x.io", tier: "b" }] })
        yield* acceptBatch({
          workspace: "w",
          object: "profiles",
          matchKey: "email",
          records: [{ email: "b@x.io", tier: "b2" }]
        })
        const results = yield* processAll
        assert.strictEqual(results.length, 7)
        assert.deepStrictEqual(yield* storedRows("w", "profiles"), [
          { _id: "1", email: "a@x.io", tier: "t4", first_name: "two" },
          { _id: "2", email: "b@x.io", tier: "b2" }
        ])
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a record without a value for the match key is a row error", () =>
      Effect.gen(function* () {
        const job = yield* upsertProfiles(
          "w",
          [{ email: "a@x.io", external_id: "e1" }, { email: "b@x.io" }],
          "external_id"
        )
        assert.strictEqual(job.metrics.insertedRows, 1)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.code, error.field]),
          [[1, ErrorCode.RequestInvalid, "external_id"]]
        )
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a match key removed from the schema since acceptance rejects every record", () =>
      Effect.gen(function* () {
        const objects = yield* ObjectsRepo
        const jobs = yield* JobsRepo
        const { jobId } = yield* acceptBatch({
          workspace: "w",
          object: "profiles",
          matchKey: "external_id",
          records: [{ email: "a@x.io", external_id: "e1" }]
        })
        const profiles = Option.getOrThrow(yield* objects.get("w", "profiles"))
        yield* putObject("w", { ...profiles, matchKeys: ["email"] })
        yield* processAll
        const job = Option.getOrThrow(yield* jobs.get("w", "profiles", jobId))
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.metrics.invalidRows, 1)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.code, error.field, error.pointer]),
          [[ErrorCode.RequestSchema, "external_id", "/matchKey"]]
        )
        assert.strictEqual(yield* countStoredRows, 0)
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("upsert: orderBy (event-time last-write-wins)", () => {
    const devices: ObjectSchema.ObjectDefinition = {
      name: "devices",
      fields: {
        device_id: { type: "string", required: true },
        seen_at: { type: "datetime" },
        status: { type: "string" }
      },
      matchKeys: ["device_id"],
      orderBy: "seen_at"
    }
    const upsertDevices = (records: ReadonlyArray<unknown>) =>
      runBatch({ workspace: "w", object: devices, matchKey: "device_id", records })

    it.effect("a record older than the stored row is not applied and is counted stale", () =>
      Effect.gen(function* () {
        yield* putObject("w", devices)
        yield* upsertDevices([{ device_id: "d1", seen_at: "2026-04-21T12:00:00Z", status: "on" }])
        const job = yield* upsertDevices([
          // 11:00 UTC: older.
          { device_id: "d1", seen_at: "2026-04-21T13:00:00+02:00", status: "old" },
          // Equal instants apply.
          { device_id: "d1", seen_at: "2026-04-21T14:00:00+02:00", status: "same" },
          // No orderBy value: applies, keeps the stored instant.
          { device_id: "d1", status: "unknown time" },
          { device_id: "d1", seen_at: "2026-04-21T15:00:00Z", status: "new" },
          // Older than the row as merged earlier in this batch.
          { device_id: "d1", seen_at: "2026-04-21T14:59:59Z", status: "late" },
          { device_id: "d2", seen_at: "2000-01-01T00:00:00Z", status: "first" }
        ])
        assert.deepStrictEqual(job.metrics, {
          totalRows: 6,
          processedRows: 6,
          insertedRows: 1,
          updatedRows: 3,
          staleRows: 2,
          invalidRows: 0
        })
        assert.deepStrictEqual(yield* storedRows("w", "devices"), [
          { _id: "1", device_id: "d1", seen_at: "2026-04-21T15:00:00Z", status: "new" },
          { _id: "2", device_id: "d2", seen_at: "2000-01-01T00:00:00Z", status: "first" }
        ])
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("match keys: uniqueness", () => {
    it.effect("append: a match-key value already held, stored or earlier in the batch, is a row error", () =>
      Effect.gen(function* () {
        const first = yield* appendProfiles("w", [
          { email: "a@x.io", external_id: "e1" },
          { email: "A@x.io" },
          { email: "b@x.io", external_id: "e1" },
          { email: "c@x.io", external_id: null },
          { email: "d@x.io", external_id: null }
        ])
        assert.strictEqual(first.metrics.insertedRows, 3)
        assert.strictEqual(first.metrics.invalidRows, 2)
        assert.deepStrictEqual(first.errors, [
          {
            index: 1,
            code: ErrorCode.RequestInvalid,
            field: "email",
            pointer: "/records/1/email",
            message: 'email "a@x.io" already belongs to the record of row 0 of this batch'
          },
          {
            index: 2,
            code: ErrorCode.RequestInvalid,
            field: "external_id",
            pointer: "/records/2/external_id",
            message: 'external_id "e1" already belongs to the record of row 0 of this batch'
          }
        ])
        const second = yield* appendProfiles("w", [{ email: "e@x.io", external_id: "e1" }, { email: "d@x.io" }])
        assert.deepStrictEqual(
          second.errors.map((error) => error.message),
          ['external_id "e1" already belongs to record 1', 'email "d@x.io" already belongs to record 3']
        )
        // The same values are free in another workspace.
        const other = yield* appendProfiles("w2", [{ email: "a@x.io", external_id: "e1" }])
        assert.strictEqual(other.metrics.insertedRows, 1)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("upsert: a merge may not take another row's match-key value; values a merge frees can be taken", () =>
      Effect.gen(function* () {
        yield* upsertProfiles("w", [
          { email: "a@x.io", external_id: "X" },
          { email: "b@x.io", external_id: "Y" }
        ])
        const job = yield* upsertProfiles("w", [
          // Takes Y from b: refused.
          { email: "a@x.io", external_id: "Y", tier: "refused" },
          // A new row with Y: refused.
          { email: "c@x.io", external_id: "Y" },
          // a moves from X to Z, freeing X...
          { email: "a@x.io", external_id: "Z" },
          // ...which b can now take, freeing Y...
          { email: "b@x.io", external_id: "X" },
          // ...which a new row can take.
          { email: "d@x.io", external_id: "Y" }
        ])
        assert.strictEqual(job.metrics.updatedRows, 2)
        assert.strictEqual(job.metrics.insertedRows, 1)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.field, error.message]),
          [
            [0, "external_id", 'external_id "Y" already belongs to record 2'],
            [1, "external_id", 'external_id "Y" already belongs to record 2']
          ]
        )
        assert.deepStrictEqual(yield* storedRows("w", "profiles"), [
          { _id: "1", email: "a@x.io", external_id: "Z" },
          { _id: "2", email: "b@x.io", external_id: "X" },
          { _id: "3", email: "d@x.io", external_id: "Y" }
        ])
        // The key index follows: upserts by external_id find the rows by their new values.
        const byExternal = yield* upsertProfiles(
          "w",
          [
            { email: "a@x.io", external_id: "Z", tier: "z" },
            { email: "b@x.io", external_id: "X", tier: "x" },
            { email: "d@x.io", external_id: "Y", tier: "y" }
          ],
          "external_id"
        )
        assert.strictEqual(byExternal.metrics.updatedRows, 3)
        assert.strictEqual(yield* countKeyValues, 6)
        // Setting a key to null frees it.
        yield* upsertProfiles("w", [{ email: "a@x.io", external_id: null }])
        const freed = yield* upsertProfiles("w", [{ email: "e@x.io", external_id: "Z" }])
        assert.strictEqual(freed.metrics.insertedRows, 1)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("upsert: rows may swap match-key values in one batch, whichever of them is written first", () =>
      Effect.gen(function* () {
        yield* upsertProfiles("w", [
          { email: "a@x.io", external_id: "A" },
          { email: "b@x.io", external_id: "X" }
        ])
        // b frees X, a takes it and frees A, b takes A: a swap, so whichever row is written first takes a value the
        // other still holds in storage (each value is taken off its holder first: the index is checked row by row).
        const job = yield* upsertProfiles("w", [
          { email: "b@x.io", external_id: "Z" },
          { email: "a@x.io", external_id: "X" },
          { email: "b@x.io", external_id: "A" }
        ])
        assert.strictEqual(job.metrics.updatedRows, 3)
        assert.deepStrictEqual(job.errors, [])
        assert.deepStrictEqual(yield* storedRows("w", "profiles"), [
          { _id: "1", email: "a@x.io", external_id: "X" },
          { _id: "2", email: "b@x.io", external_id: "A" }
        ])
        const byExternal = yield* upsertProfiles(
          "w",
          [{ email: "b@x.io", external_id: "A", tier: "found" }],
          "external_id"
        )
        assert.strictEqual(byExternal.metrics.updatedRows, 1)
        assert.strictEqual(yield* countKeyValues, 4)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("reads filter by a match key through the key index, with typed values", () =>
      Effect.gen(function* () {
        const objects = yield* ObjectsRepo
        const records = yield* RecordsRepo
        yield* putObject("w", {
          name: "accounts",
          fields: { number: { type: "integer", required: true }, name: { type: "string" } },
          matchKeys: ["number"]
        })
        yield* runBatch({
          workspace: "w",
          object: "accounts",
          matchKey: "number",
          records: [
            { number: 1, name: "one" },
            { number: 2, name: "two" }
          ]
        })
        const find = (value: unknown) =>
          Effect.map(
            records.list("w", "accounts", {
              limit: 10,
              cursor: undefined,
              filter: Option.some({ field: "number", value })
            }),
            (page) => page.records.map((record) => record.name)
          )
        assert.deepStrictEqual(yield* find(1), ["one"])
        assert.deepStrictEqual(yield* find("1"), [])
        assert.deepStrictEqual(yield* find(3), [])
        // Query-string text is read by the field's type.
        const accounts = Option.getOrThrow(yield* objects.get("w", "accounts"))
        assert.deepStrictEqual(yield* find(filterValue(accounts, "number", "2")), ["two"])
        assert.deepStrictEqual(yield* find(filterValue(accounts, "number", "2x")), [])
        assert.strictEqual(filterValue(ObjectSchema.profilesObject, "email", "Ann@X.io"), "ann@x.io")
        assert.strictEqual(filterValue(ObjectSchema.profilesObject, "external_id", "42"), "42")
      }).pipe(Effect.provide(TestStorage))
    )
  })

  // The law of SPEC §1.4: whatever the batches and however they are split into jobs, the stored rows equal applying
  // every valid record one by one in acceptance order.
  type Model = Array<Record<string, unknown>>

  /** Applies one record as the SPEC says, to an in-memory list of rows in insertion order. */
  const applyToModel = (rows: Model, record: Record<string, unknown>, matchKey: string): void => {
    // An alt that is not a string is invalid: the record is rejected before anything.
    if (typeof record.alt === "number") return
    if (record[matchKey] === undefined || record[matchKey] === null) return
    const target = rows.find((row) => row[matchKey] === record[matchKey])
    const holds = (row: Record<string, unknown>, data: Record<string, unknown>) =>
      things.matchKeys.some((key) => data[key] !== undefined && data[key] !== null && row[key] === data[key])
    if (target === undefined) {
      if (rows.some((row) => holds(row, record))) return
      rows.push({ ...record })
      return
    }
    if (typeof record.t === "number" && typeof target.t === "number" && record.t < target.t) return
    const merged = { ...target, ...record }
    if (rows.some((row) => row !== target && holds(row, merged))) return
    Object.assign(target, merged)
  }

  const value = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(null), fc.constant(undefined))
  const recordArb = fc
    .record({
      k: fc.constantFrom("k1", "k2", "k3", "k4"),
      alt: fc.oneof(fc.constantFrom("x", "y", "z"), fc.constant(null), fc.constant(undefined), fc.constant(5)),
      a: value,
      b: value,
      t: value
    })
    .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)))
  const batchArb = fc.record({
    matchKey: fc.constantFrom("k", "k", "alt"),
    records: fc.array(recordArb, { minLength: 1, maxLength: 12 })
  })

  let run = 0

  layer(TestStorage)("upsert: the stored rows equal the records applied one by one in acceptance order", (it) => {
    it.effect.prop(
      "random partial upserts across jobs",
      [fc.array(batchArb, { minLength: 1, maxLength: 6 })],
      ([batches]) =>
        Effect.gen(function* () {
          const workspace = `prop${run++}`
          yield* putObject(workspace, things)
          const model: Model = []
          for (const batch of batches) {
            yield* acceptBatch({ workspace, object: "things", matchKey: batch.matchKey, records: batch.records })
            for (const record of batch.records) applyToModel(model, record, batch.matchKey)
          }
          yield* processAll
          const stored = (yield* storedRows(workspace, "things")).map(({ _id, ...fields }) => fields)
          assert.deepStrictEqual(stored, model)
          // And each match-key value finds the one row holding it (the key columns follow every merge).
          const records = yield* RecordsRepo
          for (const row of model) {
            for (const field of things.matchKeys) {
              const value = row[field]
              if (value === undefined || value === null) continue
              const page = yield* records.list(workspace, "things", {
                limit: 10,
                cursor: undefined,
                filter: Option.some({ field, value })
              })
              assert.deepStrictEqual(
                page.records.map(({ _createdAt, _id, _updatedAt, ...fields }) => fields),
                [row]
              )
            }
          }
        }),
      { fastCheck: { numRuns: 60 } }
    )
  })
})
