/**
 * The pure core of batchwrite: Schemas, validation, batching and idempotency keys. No I/O; depends on `effect` only.
 */

/** Splitting records into batches within a record limit and a byte limit (the bytes actually sent). */
export * as Batching from "./Batching.js"

/** Python-compatible canonical JSON: `json.dumps(value, sort_keys=True, ensure_ascii=True)`, byte for byte. */
export * as CanonicalJson from "./CanonicalJson.js"

/** The success and error envelopes of every response body. */
export * as Envelope from "./Envelope.js"

/** The service's error codes (`CDP_ETL.…`). */
export * as ErrorCode from "./ErrorCode.js"

/** Reading request JSON without altering numbers: a number a double cannot hold exactly stays as written. */
export * as ExactJson from "./ExactJson.js"

/** Jobs and batch requests on the wire: operations, states, metrics, the 202 body. */
export * as Job from "./Job.js"

/** The JSON value model, with numbers that keep the form they were written in. */
export * as Json from "./Json.js"

/** Idempotency keys compatible with the hosted API's Python recipes. */
export * as Keys from "./Keys.js"

/** The service's limits: records per batch, body bytes, page sizes. */
export * as Limits from "./Limits.js"

/** A JSON reader that keeps each number's written form (`2.0` stays a float, big integers stay exact). */
export * as LosslessJson from "./LosslessJson.js"

/** Objects and their schemas (fields, match keys, `orderBy`), and the default objects. */
export * as ObjectSchema from "./ObjectSchema.js"

/** Validation of records against an object schema, with every problem of a row. */
export * as RecordValidation from "./RecordValidation.js"

/** Row errors: why one record of a batch was rejected. */
export * as RowError from "./RowError.js"

/** Stored records as reads return them. */
export * as StoredRecord from "./StoredRecord.js"
