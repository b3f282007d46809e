/**
 * The records a deployment benchmark writes: for the object it creates, events-like records with a `key` match key;
 * for an existing object, records made from its schema (every field filled with a value of its type, the match key
 * unique per record). Upsert rows make about half of each batch update a key of the batch before, so upserts merge
 * as well as insert. Records are made as they are sent, never held for a whole row.
 */
import type { ObjectSchema } from "@batchwrite/core"

/** A record to send. */
export type BenchRecord = Record<string, unknown>

/** The schema of the object a run creates. */
export const benchObjectSchema: ObjectSchema.ObjectDefinitionInput = {
  fields: {
    key: { type: "string", required: true },
    event: { type: "string", required: true },
    occurred_at: { type: "datetime", required: true },
    user_id: { type: "string" },
    amount: { type: "number" },
    properties: { type: "json" }
  },
  matchKeys: ["key"]
}

/** The match key of the object a run creates. */
export const benchMatchKey = "key"

const occurredAt = (i: number) =>
  `2026-04-${String((i % 28) + 1).padStart(2, "0")}T15:${String(i % 60).padStart(2, "0")}:00Z`

/** Makes record `i` of a stream whose match-key values start with `tag`. */
export type RecordMaker = (tag: string, i: number) => BenchRecord

/** Records of the object a run creates, ~170 bytes each; `key` is unique for each `(tag, i)`. */
export const benchRecord: RecordMaker = (tag, i) => ({
  key: `${tag}-${i}`,
  event: i % 3 === 0 ? "page_view" : i % 3 === 1 ? "click" : "purchase",
  occurred_at: occurredAt(i),
  user_id: `u-${i % 4999}`,
  amount: (i % 1000) / 8,
  properties: { items: i % 5, tags: ["a", "b"] }
})

/** Keeps a value within a string field's `maxLength`. */
const fit = (text: string, field: ObjectSchema.FieldDefinition) =>
  field.maxLength === undefined ? text : text.slice(-field.maxLength)

/**
 * Records for an existing object, from its schema: every field gets a value of its type; string, email, integer,
 * number and datetime values are unique per `(tag, i)` (so a match key of those types never repeats unless asked).
 * `base` keeps numbers of different runs apart.
 */
export const schemaRecords = (definition: ObjectSchema.ObjectDefinition, base: number): RecordMaker => {
  const fields = Object.entries(definition.fields)
  return (tag, i) => {
    const record: BenchRecord = {}
    for (const [name, field] of fields) {
      switch (field.type) {
        case "string":
          record[name] = fit(`${tag}-${i}`, field)
          break
        case "email":
          record[name] = `${tag}-${i}@example.com`.toLowerCase()
          break
        case "integer":
          record[name] = base * 1_000_000 + i
          break
        case "number":
          record[name] = base * 1_000_000 + i + 0.5
          break
        case "boolean":
          record[name] = i % 2 === 0
          break
        case "datetime":
          record[name] = new Date(Date.UTC(2026, 0, 1) + (base % 1_000_000) * 1000 + i).toISOString()
          break
        case "date":
          record[name] = `2026-04-${String((i % 28) + 1).padStart(2, "0")}`
          break
        case "json":
          record[name] = { bench: tag, i }
          break
      }
    }
    return record
  }
}

/**
 * The `index`-th batch of `batchSize` records of a row. For upserts, every other record takes the key of a new record
 * of the batch before (so about half of each batch updates a row, the rest insert); for appends every record is new.
 */
export const batchRecords = (
  make: RecordMaker,
  tag: string,
  operation: "append-batch" | "upsert-batch",
  batchSize: number,
  index: number
): Array<BenchRecord> => {
  const records: Array<BenchRecord> = new Array(batchSize)
  const first = index * batchSize
  for (let j = 0; j < batchSize; j++) {
    const updates = operation === "upsert-batch" && index > 0 && j % 2 === 1
    // j - 1 is even: a record of the batch before that was new there.
    records[j] = make(tag, updates ? first - batchSize + j - 1 : first + j)
  }
  return records
}
