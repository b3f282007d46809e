/**
 * Row errors: why one record of a batch was rejected, as a job reports it (SPEC §1.6).
 */
import { Schema } from "effect"
import { RowErrorCode } from "./ErrorCode.js"

/**
 * Why one record was rejected: its `index` in the batch, the error `code`, the `field` at fault (`null` when the
 * record as a whole is wrong), the JSON `pointer` of the offending value in the request body
 * (`/records/2/occurred_at`) and a `message` for a person.
 */
export const RowError = Schema.Struct({
  index: Schema.NonNegativeInt,
  code: RowErrorCode,
  field: Schema.NullOr(Schema.String),
  pointer: Schema.String,
  message: Schema.String
}).annotations({ identifier: "RowError", description: "Why one record of a batch was rejected" })

/** Why one record was rejected. */
export type RowError = typeof RowError.Type

/** A row error together with the rejected record itself, as `GET …/jobs/{jobId}/errors` pages them. */
export const RowErrorWithRecord = Schema.Struct({
  ...RowError.fields,
  record: Schema.Unknown
}).annotations({
  identifier: "RowErrorWithRecord",
  description: "A row error with the rejected record, ready to dead-letter"
})

/** A row error together with the rejected record itself. */
export type RowErrorWithRecord = typeof RowErrorWithRecord.Type
