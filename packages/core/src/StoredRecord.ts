/**
 * Stored records as reads return them (SPEC §1.9): the record's fields plus the fields the service adds.
 */
import { Schema } from "effect"

/** The fields the service adds to every stored row; no schema field may start with `_`. */
export const systemFields = ["_id", "_createdAt", "_updatedAt"] as const

/**
 * A stored row: the record's fields plus `_id` (the row's id), `_createdAt` and `_updatedAt` (ISO 8601 UTC
 * timestamps of its first and latest write).
 */
export const StoredRecord = Schema.Struct(
  {
    _id: Schema.String,
    _createdAt: Schema.String,
    _updatedAt: Schema.String
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations({ identifier: "StoredRecord", description: "A stored row: its fields plus _id, _createdAt, _updatedAt" })

/** A stored row. */
export type StoredRecord = typeof StoredRecord.Type

/** A page of stored rows, oldest first; `nextCursor` is `null` on the last page. */
export const RecordsPage = Schema.Struct({
  records: Schema.Array(StoredRecord),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "RecordsPage", description: "A page of stored rows, oldest first" })

/** A page of stored rows. */
export type RecordsPage = typeof RecordsPage.Type
