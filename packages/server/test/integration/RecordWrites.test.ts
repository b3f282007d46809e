/**
 * SPEC §1.9 real-time writes over real HTTP through the typed client: `POST /records/{object}` appends one record
 * (201 with the stored row), `?mode=upsert` merges by a match key (201 inserted, 200 updated or stale), a bad
 * record is a 400 with the row's errors, and a synchronous upsert keeps its place in the acceptance order.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("real-time writes (SPEC §1.9)", (it) => {
    it.effect("an append answers 201 with the stored row and its Location", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const written = yield* TestService.writeRow({
          path: { object: "events" },
          urlParams: {},
          headers: {},
          payload: { event: "signup", occurred_at: "2026-04-21T15:00:00Z", properties: { plan: "pro" } }
        })
        assert.strictEqual(written.data.outcome, "inserted")
        assert.strictEqual(written.data.record.event, "signup")
        const read = yield* api.alpha.records.getRecord({ path: { object: "events", id: written.data.record._id } })
        assert.deepStrictEqual(read.data, written.data.record)
        const raw = yield* TestService.rawPost(
          "/public/v1/records/events",
          JSON.stringify({ event: "raw", occurred_at: "2026-04-21T15:00:00Z" }),
          { token: TestService.tokens.alpha }
        )
        assert.strictEqual(raw.status, 201)
        const id = TestService.dataOf<{ record: { _id: string } }>(raw).record._id
        assert.strictEqual(raw.headers.location, `/public/v1/records/events/${id}`)
      })
    )

    it.effect(
      "an upsert inserts (201), merges field by field (200 updated), and reports stale writes (200 stale)",
      () =>
        Effect.gen(function* () {
          const upsert = (record: Record<string, unknown>) =>
            TestService.writeRow({
              path: { object: "accounts" },
              urlParams: { mode: "upsert" },
              headers: {},
              payload: { record, matchKey: "account_id" }
            })
          const first = yield* upsert({ account_id: "rt-1", name: "Ada", updated_at: "2026-04-21T15:00:00Z" })
          assert.strictEqual(first.data.outcome, "inserted")
          const second = yield* upsert({ account_id: "rt-1", plan: "pro", updated_at: "2026-04-21T16:00:00Z" })
          assert.strictEqual(second.data.outcome, "updated")
          assert.strictEqual(second.data.record.name, "Ada")
          assert.strictEqual(second.data.record.plan, "pro")
          assert.strictEqual(second.data.record._id, first.data.record._id)
          const older = yield* upsert({ account_id: "rt-1", name: "Old", updated_at: "2026-04-21T14:00:00Z" })
          assert.strictEqual(older.data.outcome, "stale")
          assert.strictEqual(older.data.record.name, "Ada")
        })
    )

    it.effect("a bad record is a 400 with every row error, pointing into the body; nothing is stored", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          TestService.writeRow({
            path: { object: "events" },
            urlParams: {},
            headers: {},
            payload: { event: 42, occurred_at: "2026-04-21T15:00:00" }
          })
        )
        assert.strictEqual(error._tag, "RequestInvalid")
        if (error._tag !== "RequestInvalid") return
        const errors = error.rowErrors ?? []
        assert.deepStrictEqual(errors.map((e) => e.pointer).sort(), ["/event", "/occurred_at"])
        const upsertError = yield* Effect.flip(
          TestService.writeRow({
            path: { object: "accounts" },
            urlParams: { mode: "upsert" },
            headers: {},
            payload: { record: { name: "no key" }, matchKey: "account_id" }
          })
        )
        assert.strictEqual(upsertError._tag, "RequestInvalid")
        if (upsertError._tag === "RequestInvalid")
          assert.strictEqual(upsertError.rowErrors?.[0]?.pointer, "/record/account_id")
      })
    )

    it.effect("a synchronous upsert applies after the batches accepted before it", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        for (let i = 0; i < 5; i++) {
          yield* api.alpha.records.upsertBatch({
            path: { object: "counters" },
            headers: {},
            payload: { matchKey: "key", records: [{ key: "order", a: i }] }
          })
        }
        const written = yield* TestService.writeRow({
          path: { object: "counters" },
          urlParams: { mode: "upsert" },
          headers: {},
          payload: { record: { key: "order", a: 100 }, matchKey: "key" }
        })
        assert.strictEqual(written.data.record.a, 100)
        const rows = yield* TestService.allRecords(api.alpha, "counters", { key: "order" })
        assert.strictEqual(rows.length, 1)
        assert.strictEqual(rows[0]!.a, 100)
      })
    )

    it.effect("idempotency: the same key replays the stored answer, another body is a 422", () =>
      Effect.gen(function* () {
        const send = (event: string) =>
          TestService.writeRow({
            path: { object: "events" },
            urlParams: {},
            headers: { "idempotency-key": "rt-write-1" },
            payload: { event, occurred_at: "2026-04-21T15:00:00Z" }
          })
        const first = yield* send("once")
        const again = yield* send("once")
        assert.deepStrictEqual(again.data, first.data)
        const reused = yield* Effect.flip(send("other"))
        assert.strictEqual(reused._tag, "IdempotencyKeyReused")
      })
    )
  })
})

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter, singleWriteWait: "0 millis" }), { excludeTestServices: true })(
    "a single write whose job is not done in time",
    (it) => {
      it.effect("answers 202 with its job; the 202 is what its Idempotency-Key replays, and the write applies", () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          // A large upsert ahead of it on the same object: the write's job waits behind it.
          const ahead = Array.from({ length: 5_000 }, (_, i) => ({ key: `ahead-${i}`, a: i }))
          yield* api.alpha.records.upsertBatch({
            path: { object: "counters" },
            headers: {},
            payload: { matchKey: "key", records: ahead }
          })
          const body = JSON.stringify({ record: { key: "late", a: 1 }, matchKey: "key" })
          const headers = { "idempotency-key": "late-write-1" }
          const send = TestService.rawPost("/public/v1/records/counters?mode=upsert", body, {
            token: TestService.tokens.alpha,
            headers
          })
          const first = yield* send
          assert.strictEqual(first.status, 202, first.text)
          const accepted = TestService.dataOf<{ jobId: string; statusPath: string; acceptedRecords: number }>(first)
          assert.strictEqual(accepted.acceptedRecords, 1)
          assert.strictEqual(first.headers.location, `/public/v1${accepted.statusPath}`)
          const replay = yield* send
          assert.strictEqual(replay.status, 202, "a replay is the stored 202, never a 408")
          assert.strictEqual(replay.text, first.text)
          assert.strictEqual(replay.headers["idempotent-replayed"], "true")
          const job = yield* TestService.awaitJob(api.alpha, "counters", accepted.jobId)
          assert.strictEqual(job.state, "completed")
          const rows = yield* TestService.allRecords(api.alpha, "counters", { key: "late" })
          assert.strictEqual(rows.length, 1)
        })
      )
    }
  )
})
