/**
 * SPEC §1.9 reads over real HTTP: stored rows oldest first, paged with a cursor, filtered by a match key, streamed
 * as NDJSON with `Accept: application/x-ndjson`, and one record by `_id`.
 */
import { preferWait } from "@batchwrite/api"
import type { StoredRecord } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  /** 130 rows of `readings` (two batches), stored once per server. */
  const seeded = Effect.gen(function* () {
    const { api } = yield* TestService.TestService
    const existing = yield* Effect.either(api.alpha.objects.getObject({ path: { name: "readings" } }))
    if (existing._tag === "Right") return
    yield* api.alpha.objects.putObject({
      path: { name: "readings" },
      payload: {
        fields: { seq: { type: "integer", required: true }, code: { type: "string" }, value: { type: "number" } },
        matchKeys: ["code", "seq"]
      }
    })
    for (const range of [
      [0, 100],
      [100, 130]
    ] as const) {
      const records = Array.from({ length: range[1] - range[0] }, (_, i) => {
        const seq = range[0] + i
        return { seq, code: `c${seq}`, value: seq / 4 }
      })
      yield* api.alpha.records.appendBatch({
        path: { object: "readings" },
        headers: { prefer: preferWait(10) },
        payload: { records }
      })
    }
  })

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("reads (SPEC §1.9)", (it) => {
    it.effect("rows are listed oldest first, a page at a time with a cursor, with _id, _createdAt, _updatedAt", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* seeded
        const pages: Array<StoredRecord.RecordsPage> = []
        let cursor: string | null = null
        do {
          const page: { readonly data: StoredRecord.RecordsPage } = yield* api.alpha.records.listRecords({
            path: { object: "readings" },
            urlParams: { limit: 40, ...(cursor === null ? {} : { cursor }) }
          })
          pages.push(page.data)
          cursor = page.data.nextCursor
        } while (cursor !== null && pages.length < 10)
        assert.deepStrictEqual(
          pages.map((page) => page.records.length),
          [40, 40, 40, 10]
        )
        const rows = pages.flatMap((page) => page.records)
        assert.deepStrictEqual(
          rows.map((row) => row.seq),
          Array.from({ length: 130 }, (_, i) => i)
        )
        assert.strictEqual(new Set(rows.map((row) => row._id)).size, 130)
        for (const row of rows) {
          assert.isString(row._id)
          assert.strictEqual(new Date(row._createdAt).toISOString(), row._createdAt)
          assert.strictEqual(new Date(row._updatedAt).toISOString(), row._updatedAt)
          assert.deepStrictEqual(TestService.fieldsOf(row), {
            seq: row.seq,
            code: `c${row.seq}`,
            value: (row.seq as number) / 4
          })
        }
        // Oldest first: creation times never go backwards.
        for (let i = 1; i < rows.length; i++) assert.isTrue(rows[i]!._createdAt >= rows[i - 1]!._createdAt)
      })
    )

    it.effect("the default page is 100 rows; limit above 1,000 or below 1, and a foreign cursor, are 400", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* seeded
        const first = yield* api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: {} })
        assert.strictEqual(first.data.records.length, 100)
        assert.isString(first.data.nextCursor)
        const rest = yield* api.alpha.records.listRecords({
          path: { object: "readings" },
          urlParams: { cursor: first.data.nextCursor! }
        })
        assert.strictEqual(rest.data.records.length, 30)
        assert.isNull(rest.data.nextCursor)
        for (const query of ["limit=1001", "limit=0", "limit=ten", "cursor=bogus"]) {
          const response = yield* TestService.rawGet(`/public/v1/records/readings?${query}`, {
            token: TestService.tokens.alpha
          })
          TestService.expectError(response, 400, "RequestInvalid")
        }
        // The largest page holds them all.
        const page = yield* api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: { limit: 1_000 } })
        assert.strictEqual(page.data.records.length, 130)
        assert.isNull(page.data.nextCursor)
      })
    )

    it.effect("?{matchKey}={value} keeps the rows whose match key has that value; another field is 400", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* seeded
        const byCode = yield* api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: { code: "c7" } })
        assert.deepStrictEqual(
          byCode.data.records.map((row) => row.seq),
          [7]
        )
        assert.isNull(byCode.data.nextCursor)
        const bySeq = yield* api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: { seq: 42 } })
        assert.deepStrictEqual(
          bySeq.data.records.map((row) => row.code),
          ["c42"]
        )
        const none = yield* api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: { code: "c999" } })
        assert.deepStrictEqual(none.data.records, [])
        const notAKey = yield* Effect.flip(
          api.alpha.records.listRecords({ path: { object: "readings" }, urlParams: { value: "1.5" } })
        )
        assert.strictEqual(notAKey._tag, "RequestInvalid")
      })
    )

    it.effect("a filter on an email match key finds the row however the address is cased, as upserts match it", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: { records: [{ email: "Grace@Example.COM", first_name: "Grace" }], matchKey: "email" }
        })
        const lower = yield* TestService.allRecords(api.alpha, "profiles", { email: "grace@example.com" })
        assert.deepStrictEqual(lower.map(TestService.fieldsOf), [{ email: "grace@example.com", first_name: "Grace" }])
        // The address as the client sent it (and as an upsert would match it).
        const asSent = yield* TestService.allRecords(api.alpha, "profiles", { email: "Grace@Example.COM" })
        assert.deepStrictEqual(asSent, lower)
      })
    )

    it.effect("Accept: application/x-ndjson streams every matching row, one JSON object per line", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* seeded
        const paged = yield* TestService.allRecords(api.alpha, "readings")
        const response = yield* TestService.rawGet("/public/v1/records/readings", {
          token: TestService.tokens.alpha,
          headers: { accept: "application/x-ndjson" }
        })
        assert.strictEqual(response.status, 200)
        assert.match(response.headers["content-type"] ?? "", /^application\/x-ndjson/)
        assert.isTrue(response.text.endsWith("\n"))
        const lines = response.text.split("\n").slice(0, -1)
        assert.strictEqual(lines.length, 130)
        assert.deepStrictEqual(
          lines.map((line) => JSON.parse(line) as unknown),
          paged
        )
        const filtered = yield* TestService.rawGet("/public/v1/records/readings?code=c12", {
          token: TestService.tokens.alpha,
          headers: { accept: "application/x-ndjson" }
        })
        assert.deepStrictEqual(
          filtered.text
            .split("\n")
            .filter((line) => line !== "")
            .map((line) => (JSON.parse(line) as { seq: number }).seq),
          [12]
        )
        const empty = yield* TestService.rawGet("/public/v1/records/readings?code=none", {
          token: TestService.tokens.alpha,
          headers: { accept: "application/x-ndjson" }
        })
        assert.strictEqual(empty.status, 200)
        assert.strictEqual(empty.text, "")
      })
    )

    it.effect("a record is read by its _id; an unknown id, or an id of another object, is 404 NOT_FOUND.RECORD", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* seeded
        const [row] = (yield* api.alpha.records.listRecords({
          path: { object: "readings" },
          urlParams: { code: "c5" }
        })).data.records
        const read = yield* api.alpha.records.getRecord({ path: { object: "readings", id: row!._id } })
        assert.deepStrictEqual(read.data, row)
        for (const [object, id] of [
          ["readings", "999999999"],
          ["readings", "not-an-id"],
          ["events", row!._id]
        ] as const) {
          const error = yield* Effect.flip(api.alpha.records.getRecord({ path: { object, id } }))
          assert.strictEqual(error._tag, "RecordNotFound", `${object}/${id}`)
        }
        const unknownObject = yield* Effect.flip(
          api.alpha.records.listRecords({ path: { object: "nothing_here" }, urlParams: {} })
        )
        assert.strictEqual(unknownObject._tag, "ObjectNotFound")
      })
    )
  })
})
