import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import { InvalidCursor } from "../../src/storage/Cursor.js"
import { RecordsRepo } from "../../src/storage/RecordsRepo.js"
import { runBatch, forEachAdapter, storageOn } from "./TestStorage.js"

forEachAdapter((adapter) => {
  const TestStorage = storageOn(adapter)

  const events = (n: number, offset = 0) =>
    Array.from({ length: n }, (_, i) => ({ event: `e${offset + i}`, occurred_at: "2026-04-21T15:00:00Z" }))

  const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

  describe("records: reads (SPEC §1.9)", () => {
    it.effect("pages oldest first with an opaque cursor", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        yield* runBatch({ workspace: "w", object: "events", records: events(150) })
        yield* runBatch({ workspace: "w", object: "events", records: events(100, 150) })
        const seen: Array<string> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = yield* records.list("w", "events", { limit: 100, cursor, filter: Option.none() })
          for (const record of page.records) {
            assert.match(record._createdAt, isoPattern)
            assert.match(record._updatedAt, isoPattern)
            seen.push(`${record._id}:${record.event}`)
          }
          cursor = page.nextCursor ?? undefined
          pages++
        } while (cursor !== undefined)
        assert.strictEqual(pages, 3)
        assert.deepStrictEqual(
          seen,
          Array.from({ length: 250 }, (_, i) => `${i + 1}:e${i}`)
        )
        const exact = yield* records.list("w", "events", { limit: 250, cursor: undefined, filter: Option.none() })
        assert.strictEqual(exact.nextCursor, null)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("refuses a cursor it did not give out", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        for (const cursor of ["", "abc", "ZTE", "cjA1", "r1", "cjEuNQ", "cj0x", "!!!"]) {
          const error = yield* Effect.flip(records.list("w", "events", { limit: 10, cursor, filter: Option.none() }))
          assert.instanceOf(error, InvalidCursor, cursor)
        }
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("streams every row in order, page by page", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        yield* runBatch({ workspace: "w", object: "events", records: events(23) })
        const all = yield* Stream.runCollect(records.stream("w", "events", { filter: Option.none(), pageSize: 5 }))
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(all).map((record) => record.event),
          events(23).map((record) => record.event)
        )
        const none = yield* Stream.runCollect(records.stream("w2", "events", { filter: Option.none() }))
        assert.strictEqual(Chunk.size(none), 0)
        yield* runBatch({
          workspace: "w",
          object: "profiles",
          matchKey: "email",
          records: [{ email: "a@x.io" }, { email: "b@x.io", tier: "gold" }]
        })
        const filtered = yield* Stream.runCollect(
          records.stream("w", "profiles", { filter: Option.some({ field: "email", value: "b@x.io" }) })
        )
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(filtered).map((record) => [record._id, record.tier]),
          [["25", "gold"]]
        )
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("reads one row by _id, only in its own workspace and object", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        yield* runBatch({ workspace: "w", object: "events", records: events(2) })
        const found = Option.getOrThrow(yield* records.get("w", "events", "2"))
        assert.strictEqual(found._id, "2")
        assert.strictEqual(found.event, "e1")
        for (const [workspace, object, id] of [
          ["w2", "events", "2"],
          ["w", "profiles", "2"],
          ["w", "events", "3"],
          ["w", "events", "02"],
          ["w", "events", "0"],
          ["w", "events", "abc"],
          ["w", "events", "1e0"]
        ] as const) {
          assert.isTrue(Option.isNone(yield* records.get(workspace, object, id)), `${workspace}/${object}/${id}`)
        }
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("workspaces never see each other's rows, keys or jobs", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        const mine = yield* runBatch({
          workspace: "w1",
          object: "profiles",
          matchKey: "email",
          records: [{ email: "a@x.io", tier: "1" }]
        })
        const theirs = yield* runBatch({
          workspace: "w2",
          object: "profiles",
          matchKey: "email",
          records: [{ email: "a@x.io", tier: "2" }]
        })
        // Same match-key value in both workspaces: each inserted its own row.
        assert.strictEqual(mine.metrics.insertedRows, 1)
        assert.strictEqual(theirs.metrics.insertedRows, 1)
        const w1 = yield* records.list("w1", "profiles", {
          limit: 10,
          cursor: undefined,
          filter: Option.some({ field: "email", value: "a@x.io" })
        })
        assert.deepStrictEqual(
          w1.records.map((record) => record.tier),
          ["1"]
        )
        assert.isTrue(Option.isNone(yield* records.get("w1", "profiles", "2")))
      }).pipe(Effect.provide(TestStorage))
    )
  })
})
