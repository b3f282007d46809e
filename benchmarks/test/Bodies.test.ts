/**
 * The upsert bodies merge as the benchmark says (about half the records of a batch update keys of earlier batches,
 * some partially, some keys more than once, never a key twice in one batch), and the direct writer merges them field
 * by field as SPEC §1.4 does: a field left out keeps its value, an explicit `null` sets null.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { makeBodies } from "../src/Bodies.js"
import { type Fields, openSqliteWriter } from "../src/DirectWriter.js"

const batchesOf = (bodies: ReadonlyArray<Buffer>): Array<Array<Fields>> =>
  bodies.map((body) => (JSON.parse(body.toString("utf8")) as { records: Array<Fields> }).records)

describe("upsert bodies", () => {
  it("update about half the keys of earlier batches, partially or fully, never a key twice in a batch", () => {
    const batches = batchesOf(makeBodies("upsert-batch", 100, 20, "t"))
    const seen = new Map<unknown, number>()
    let updates = 0
    let partial = 0
    for (const batch of batches) {
      const keys = new Set(batch.map((record) => record.email))
      assert.strictEqual(keys.size, batch.length, "no key twice in one batch")
      for (const record of batch) {
        if (seen.has(record.email)) {
          updates++
          if (Object.keys(record).length < 7) partial++
        }
        seen.set(record.email, (seen.get(record.email) ?? 0) + 1)
      }
    }
    const later = 19 * 100
    assert.isAbove(updates, later * 0.4)
    assert.isBelow(updates, later * 0.6)
    assert.isAbove(partial, updates * 0.5)
    assert.isAbove([...seen.values()].filter((n) => n > 2).length, 0, "some keys are updated more than once")
  })

  it("with --upsert-updates 0 insert every record", () => {
    const batches = batchesOf(makeBodies("upsert-batch", 50, 10, "t", { updateShare: 0 }))
    assert.strictEqual(new Set(batches.flat().map((record) => record.email)).size, 500)
  })
})

describe("the direct writer", () => {
  it("merges upserts field by field", async () => {
    const directory = mkdtempSync(join(tmpdir(), "batchwrite-direct-test-"))
    const file = join(directory, "direct.db")
    const writer = openSqliteWriter(file)
    try {
      await writer.reset()
      await writer.write("upsert-batch", [
        { email: "a@example.com", external_id: "a", first_name: "Ann", last_name: "Lee", tier: "gold" }
      ])
      await writer.write("upsert-batch", [{ email: "a@example.com", tier: "silver", last_name: null }])
      await writer.close()
      const Database = createRequire(import.meta.url)("better-sqlite3") as new (
        file: string
      ) => { prepare(sql: string): { all(): Array<Record<string, unknown>> }; close(): void }
      const db = new Database(file)
      const rows = db.prepare("SELECT email, external_id, first_name, last_name, tier FROM profiles").all()
      db.close()
      assert.deepStrictEqual(rows, [
        { email: "a@example.com", external_id: "a", first_name: "Ann", last_name: null, tier: "silver" }
      ])
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
