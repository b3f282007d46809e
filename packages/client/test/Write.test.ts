import { ErrorCode } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { DeadLetter, replay } from "../src/DeadLetter.js"
import { RecordsClient } from "../src/RecordsClient.js"
import type { WriteEvent } from "../src/Write.js"
import { clientLayer } from "./support/RealService.js"

const visits = {
  fields: {
    path: { type: "string", required: true },
    at: { type: "datetime", required: true },
    n: { type: "integer" },
    blob: { type: "string" }
  },
  matchKeys: []
} as const

layer(clientLayer(), { excludeTestServices: true, timeout: 40_000 })("write on the real service", (it) => {
  it.effect("splits an Iterable, awaits every job, reports invalid rows and a record too large alone", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      yield* records.putObject("visits", visits)
      const invalidAt = new Set([5, 1_500, 2_400])
      const input = Array.from({ length: 2_500 }, (_, n) => ({
        path: `/p/${n}`,
        at: invalidAt.has(n) ? "2026-04-21T15:00:00" : "2026-04-21T15:00:00Z",
        n,
        ...(n === 1_000 ? { blob: "x".repeat(300_000) } : {})
      }))
      const summary = yield* records.write("visits", input, {
        mode: "append",
        maxRecords: 1_000,
        maxBytes: 200_000,
        concurrency: 3
      })
      assert.strictEqual(summary.accepted, 2_499)
      assert.strictEqual(summary.inserted, 2_496)
      assert.strictEqual(summary.invalid, 3)
      assert.strictEqual(summary.deadLettered, 1)
      assert.isAtLeast(summary.batches, 3)
      assert.strictEqual(summary.jobIds.length, summary.batches)
      assert.deepStrictEqual(
        summary.invalidRows.map((row) => row.inputIndex),
        [5, 1_500, 2_400]
      )
      assert.deepStrictEqual(summary.invalidRows[1]!.record, input[1_500])
      assert.strictEqual(summary.invalidRows[1]!.field, "at")
      assert.strictEqual(summary.deadLetters[0]!.inputIndex, 1_000)
      assert.strictEqual(summary.deadLetters[0]!.code, ErrorCode.PayloadTooLarge)
      assert.strictEqual(summary.deadLetters[0]!.record, input[1_000])
      const stored = yield* Stream.runCollect(records.allRecords("visits"))
      assert.strictEqual(stored.length, 2_496)
      assert.strictEqual(new Set(Chunk.toReadonlyArray(stored).map((row) => row.n)).size, 2_496)
    })
  )

  it.effect("reports as it goes: every input record settles in exactly one event, after its batch's acceptance", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      const input = Array.from({ length: 1_300 }, (_, n) => ({
        path: `/events/${n}`,
        at: n % 400 === 3 ? "not a time" : "2026-04-21T15:00:00Z",
        n,
        ...(n === 700 ? { blob: "x".repeat(300_000) } : {})
      }))
      const events: Array<WriteEvent<unknown>> = []
      const summary = yield* records.write("visits", input, {
        mode: "append",
        maxRecords: 250,
        maxBytes: 200_000,
        concurrency: 3,
        collectRows: false,
        onEvent: (event) => Effect.sync(() => events.push(event))
      })
      const settled = events.filter((event) => event._tag === "Settled")
      const covered = settled.flatMap((event) => Array.from({ length: event.count }, (_, i) => event.firstIndex + i))
      assert.deepStrictEqual(
        covered.sort((a, b) => a - b),
        input.map((_, n) => n)
      )
      for (const event of settled.filter((event) => event.jobId !== undefined)) {
        const accepted = events.findIndex((other) => other._tag === "Accepted" && other.jobId === event.jobId)
        assert.isAtLeast(accepted, 0)
        assert.isBelow(accepted, events.indexOf(event))
      }
      assert.deepStrictEqual(
        settled.flatMap((event) => event.outcome.invalidRows.map((row) => row.inputIndex)).sort((a, b) => a - b),
        [3, 403, 803, 1_203]
      )
      assert.deepStrictEqual(
        settled.flatMap((event) => event.outcome.deadLetters.map((row) => row.inputIndex)),
        [700]
      )
      // Without collectRows the summary counts the rows but does not hold them.
      assert.deepStrictEqual(
        [summary.invalid, summary.invalidRows.length, summary.deadLettered, summary.deadLetters.length],
        [4, 0, 1, 0]
      )
    })
  )

  it.effect("upserts a Stream in order: later records win", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      const input = Stream.range(0, 1_199).pipe(
        Stream.map((n) =>
          n < 1_000
            ? { email: `user${n}@example.com`, tier: "first" }
            : { email: `user${n - 1_000}@example.com`, tier: "second" }
        )
      )
      const summary = yield* records.write("profiles", input, {
        mode: "upsert",
        matchKey: "email",
        maxRecords: 300,
        concurrency: 1
      })
      assert.strictEqual(summary.batches, 4)
      assert.strictEqual(summary.accepted, 1_200)
      assert.strictEqual(summary.inserted, 1_000)
      assert.strictEqual(summary.updated, 200)
      const user0 = yield* records.listRecords("profiles", { filter: { email: "user0@example.com" } })
      assert.strictEqual(user0.records[0]!.tier, "second")
      const user500 = yield* records.listRecords("profiles", { filter: { email: "user500@example.com" } })
      assert.strictEqual(user500.records[0]!.tier, "first")
    })
  )

  it.effect("dead-letters a batch refused for unknown fields and goes on; fails for an unknown object", () =>
    Effect.gen(function* () {
      const records = yield* RecordsClient
      yield* records.putObject("notes", {
        fields: { text: { type: "string", required: true } },
        matchKeys: []
      })
      const input = [{ text: "a" }, { text: "b" }, { text: "c", colour: "red" }, { text: "d" }, { text: "e" }]
      const summary = yield* records.write("notes", input, { mode: "append", maxRecords: 2 })
      assert.strictEqual(summary.accepted, 3)
      assert.deepStrictEqual(
        summary.deadLetters.map((entry) => [entry.inputIndex, entry.code]),
        [
          [2, ErrorCode.RequestSchema],
          [3, ErrorCode.RequestSchema]
        ]
      )
      assert.include(summary.deadLetters[0]!.message, "colour")
      const stored = yield* Stream.runCollect(records.allRecords("notes"))
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(stored).map((row) => row.text),
        ["a", "b", "e"]
      )
      // an upsert without a match key does not compile; from untyped code it fails
      // @ts-expect-error: an upsert needs a matchKey
      const noKey = yield* records.write("profiles", [{ email: "k@example.com" }], { mode: "upsert" }).pipe(Effect.flip)
      assert.include(noKey, { _tag: "InvalidRequest", message: "an upsert needs a matchKey" })
      const missing = yield* records.write("no_such_object", [{ text: "x" }], { mode: "append" }).pipe(Effect.flip)
      assert.strictEqual(missing._tag, "NotFound")
    })
  )

  it.effect("replay re-sends a dead letter's records of one object, with fresh keys", () =>
    Effect.gen(function* () {
      yield* Effect.flatMap(RecordsClient, (records) =>
        records.putObject("notes", { fields: { text: { type: "string", required: true } }, matchKeys: [] })
      )
      yield* DeadLetter.offerAll([
        { record: { text: "fixed" }, objectName: "notes", code: ErrorCode.RequestSchema, message: "was: colour" },
        { record: { email: "x@example.com" }, objectName: "profiles", code: "X", message: "another object" }
      ])
      const first = yield* replay("notes", { mode: "append" })
      const second = yield* replay("notes", { mode: "append" })
      assert.deepStrictEqual([first.accepted, first.inserted, second.inserted], [1, 1, 1])
      assert.notStrictEqual(first.jobIds[0], second.jobIds[0])
      const records = yield* RecordsClient
      const stored = yield* Stream.runCollect(records.allRecords("notes"))
      assert.strictEqual(Chunk.toReadonlyArray(stored).filter((row) => row.text === "fixed").length, 2)
    }).pipe(Effect.provide(DeadLetter.memory))
  )
})
