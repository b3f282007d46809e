import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ErrorCode } from "@batchwrite/core"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DeadLetter, type DeadLetterEntry, fromRowErrors } from "../src/DeadLetter.js"

const entries: ReadonlyArray<DeadLetterEntry> = [
  {
    record: { email: "bad" },
    objectName: "profiles",
    code: ErrorCode.RequestInvalid,
    message: "email: not an email",
    jobId: "rjob_1"
  },
  { record: { big: "x" }, objectName: "events", code: ErrorCode.PayloadTooLarge, message: "too large alone" }
]

describe("DeadLetter", () => {
  it.effect("memory keeps entries in order", () =>
    Effect.gen(function* () {
      yield* DeadLetter.offerAll(entries.slice(0, 1))
      yield* DeadLetter.offerAll(entries.slice(1))
      const deadLetter = yield* DeadLetter
      assert.deepStrictEqual(yield* deadLetter.entries, entries)
    }).pipe(Effect.provide(DeadLetter.memory))
  )

  it.effect("file appends one NDJSON line per entry and reads them back", () =>
    Effect.gen(function* () {
      const directory = mkdtempSync(join(tmpdir(), "batchwrite-dead-letter-"))
      const path = join(directory, "dead.ndjson")
      const layer = DeadLetter.file(path).pipe(Layer.provide(NodeFileSystem.layer))
      yield* Effect.gen(function* () {
        const deadLetter = yield* DeadLetter
        assert.deepStrictEqual(yield* deadLetter.entries, [])
        yield* deadLetter.offerAll(entries)
        yield* deadLetter.offerAll([{ record: { n: 10n }, objectName: "events", code: "X", message: "not JSON" }])
      }).pipe(Effect.provide(layer))
      // a second layer on the same file appends, never truncates
      const all = yield* Effect.flatMap(DeadLetter, (deadLetter) =>
        Effect.zipRight(deadLetter.offerAll(entries.slice(0, 1)), deadLetter.entries)
      ).pipe(Effect.provide(layer))
      const lines = readFileSync(path, "utf8").trimEnd().split("\n")
      rmSync(directory, { recursive: true, force: true })
      assert.strictEqual(lines.length, 4)
      assert.deepStrictEqual(JSON.parse(lines[0]!), entries[0])
      assert.deepStrictEqual(all.slice(0, 2), entries)
      assert.deepStrictEqual(all[2]!.record, { n: "10" })
      assert.deepStrictEqual(all[3], entries[0])
    })
  )

  it("fromRowErrors names the field and keeps the job", () => {
    const [entry] = fromRowErrors("events", "rjob_2", [
      {
        index: 0,
        code: ErrorCode.RequestInvalid,
        field: "occurred_at",
        pointer: "/records/0/occurred_at",
        message: "needs a zone",
        record: { occurred_at: "2026-04-21T15:00:00" }
      }
    ])
    assert.deepStrictEqual(entry, {
      record: { occurred_at: "2026-04-21T15:00:00" },
      objectName: "events",
      code: ErrorCode.RequestInvalid,
      message: "occurred_at: needs a zone",
      jobId: "rjob_2"
    })
  })
})
