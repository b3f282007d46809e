import { ErrorCode, Keys } from "@batchwrite/core"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, ConfigError, ConfigProvider, Effect, Layer, Stream } from "effect"
import { RecordsClient } from "../src/RecordsClient.js"
import { clientLayer, RealService, token } from "./support/RealService.js"

const event = (n: number) => ({ event: `e${n}`, occurred_at: "2026-04-21T15:00:00Z", user_id: `u${n}` })

layer(clientLayer(), { excludeTestServices: true, timeout: 30_000 })("RecordsClient on the real service", (it) => {
  it.effect("appends a batch, awaits its job and reads the rows back", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      yield* records.putObject("clicks", {
        fields: {
          event: { type: "string", required: true },
          occurred_at: { type: "datetime", required: true },
          user_id: { type: "string" }
        },
        matchKeys: []
      })
      const accepted = yield* records.appendBatch("clicks", [event(1), event(2), event(3)])
      assert.strictEqual(accepted.acceptedRecords, 3)
      assert.strictEqual(accepted.objectName, "clicks")
      const job = yield* records.awaitJob(accepted)
      assert.strictEqual(job.state, "completed")
      assert.strictEqual(job.metrics.insertedRows, 3)
      const page = yield* records.listRecords("clicks", { limit: 2 })
      assert.strictEqual(page.records.length, 2)
      assert.isNotNull(page.nextCursor)
      const all = yield* Stream.runCollect(records.allRecords("clicks"))
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(all).map((row) => row.event),
        ["e1", "e2", "e3"]
      )
    })
  )

  it.effect("upserts by a match key and pages through every row error with its record", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      const rows = [
        { email: "a@example.com", tier: "gold" },
        { email: "not-an-email" },
        { email: "b@example.com", tier: "silver" },
        { email: "also bad" },
        { tier: "no email" },
        { email: "a@example.com", first_name: "Ada" }
      ]
      const accepted = yield* records.upsertBatch("profiles", rows, { matchKey: "email" })
      const job = yield* records.awaitJob(accepted)
      assert.deepStrictEqual([job.metrics.insertedRows, job.metrics.updatedRows, job.metrics.invalidRows], [2, 1, 3])
      const errors = Chunk.toReadonlyArray(yield* Stream.runCollect(records.jobErrors(accepted, { pageSize: 2 })))
      assert.deepStrictEqual(
        errors.map((error) => error.index),
        [1, 3, 4]
      )
      assert.deepStrictEqual(errors[0]!.record, { email: "not-an-email" })
      const ada = yield* records.listRecords("profiles", { filter: { email: "a@example.com" } })
      assert.strictEqual(ada.records.length, 1)
      assert.include(ada.records[0], { tier: "gold", first_name: "Ada" })
    })
  )

  it.effect("sends the batch key by default: a resend is replayed, not written twice", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      const batch = [{ email: "replay@example.com", tier: "one" }]
      const first = yield* records.upsertBatch("profiles", batch, { matchKey: "email" })
      const second = yield* records.upsertBatch("profiles", batch, { matchKey: "email" })
      assert.strictEqual(second.jobId, first.jobId)
      const explicit = yield* records.upsertBatch("profiles", batch, {
        matchKey: "email",
        idempotencyKey: Keys.batchIdempotencyKey(batch)
      })
      assert.strictEqual(explicit.jobId, first.jobId)
      const reused = yield* records
        .upsertBatch("profiles", [{ email: "other@example.com" }], {
          matchKey: "email",
          idempotencyKey: Keys.batchIdempotencyKey(batch)
        })
        .pipe(Effect.flip)
      assert.strictEqual(reused._tag, "IdempotencyKeyReused")
    })
  )

  it.effect("fails with the typed error of each refusal", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      const unknownObject = yield* records.appendBatch("nope", [event(1)]).pipe(Effect.flip)
      assert.include(unknownObject, { _tag: "NotFound", code: ErrorCode.NotFoundObject })
      const mismatch = yield* records.appendBatch("events", [{ ...event(1), color: "red" }]).pipe(Effect.flip)
      assert.strictEqual(mismatch._tag, "SchemaMismatch")
      if (mismatch._tag === "SchemaMismatch")
        assert.deepStrictEqual(mismatch.unknownFields, [{ field: "color", firstIndex: 0 }])
      const badKey = yield* records
        .upsertBatch("profiles", [{ email: "x@example.com" }], { matchKey: "tier" })
        .pipe(Effect.flip)
      assert.include(badKey, { _tag: "InvalidRequest", status: 400 })
      const tooMany = yield* records
        .appendBatch(
          "events",
          Array.from({ length: 10_001 }, (_, n) => event(n))
        )
        .pipe(Effect.flip)
      assert.include(tooMany, { _tag: "TooManyRecords", limit: 10_000, count: 10_001 })
      const missingJob = yield* records.getJob("events", "rjob_01JD5X8Q2W3E4R5T6Y7Z8A9B0C").pipe(Effect.flip)
      assert.include(missingJob, { _tag: "NotFound", code: ErrorCode.NotFoundJob })
      const missingObject = yield* records.getObject("nothing_here").pipe(Effect.flip)
      assert.include(missingObject, { _tag: "NotFound", code: ErrorCode.NotFoundObject })
      const events = yield* records.getObject("events")
      assert.strictEqual(events.name, "events")
    })
  )

  it.effect("Unauthorized for an unknown token; layerConfig reads BATCHWRITE_URL with or without /public/v1", () =>
    Effect.gen(function* () {
      const { origin } = yield* RealService
      const withToken = (url: string, secret: string) =>
        Effect.flatMap(RecordsClient, (client) => client.getObject("events")).pipe(
          Effect.provide(RecordsClient.layerConfig()),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(
              new Map([
                ["BATCHWRITE_URL", url],
                ["BATCHWRITE_TOKEN", secret]
              ])
            )
          )
        )
      const unauthorized = yield* withToken(origin, "wrong-token-123").pipe(Effect.flip)
      assert.strictEqual(unauthorized._tag, "Unauthorized")
      assert.strictEqual((yield* withToken(origin, token)).name, "events")
      assert.strictEqual((yield* withToken(`${origin}/public/v1/`, token)).name, "events")
    })
  )
})

describe("RecordsClient.layerConfig", () => {
  it.effect("needs BATCHWRITE_TOKEN", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(RecordsClient.layerConfig()).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      assert.isTrue(ConfigError.isMissingDataOnly(error))
    })
  )
})
