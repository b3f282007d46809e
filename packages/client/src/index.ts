/**
 * The Effect client toolkit of batchwrite (SPEC §3): `RecordsClient` with typed errors, `Schedule`-based retry and
 * job polling, `write` (splitting, bounded concurrency, halving on 413), a scoped `RecordBuffer`, and the
 * `DeadLetter` where undeliverable records go.
 */

/** Where records that cannot be stored go: NDJSON-file and in-memory implementations. */
export * from "./DeadLetter.js"

/** The typed errors of the client (SPEC §3). */
export {
  errorCodeOf,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  InvalidRequest,
  isRetryable,
  JobFailed,
  JobTimeout,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  type RecordsClientError,
  type RequestError,
  retryAfterOf,
  SchemaMismatch,
  ServerError,
  TooManyRecords,
  TransportError,
  Unauthorized
} from "./Errors.js"

/** The retry and polling schedules: `retryPolicy`, `pollPolicy`. */
export * from "./Policies.js"

/** A scoped buffer for records produced one at a time: size, bytes and age triggers, backpressure. */
export * as RecordBuffer from "./RecordBuffer.js"

/** The client service: batch writes, jobs, row errors, records, objects, `write`. */
export * from "./RecordsClient.js"

/** Writing any number of records: the options and the summary. */
export type {
  BatchAccepted,
  InvalidRow,
  RunSettled,
  Undelivered,
  WriteEvent,
  WriteInput,
  WriteOptions,
  WriteSummary
} from "./Write.js"
