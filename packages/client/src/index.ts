/**
 * The Effect client toolkit of batchwrite (SPEC §3): `RecordsClient` with typed errors, `Schedule`-based retry and
 * job polling, `write` (splitting, bounded concurrency, halving on 413), a scoped `RecordBuffer`, a
 * `QueueConsumer` that acknowledges after acceptance, and the `DeadLetter` where undeliverable records go.
 */

/** Idempotency keys compatible with the hosted API's Python recipes (`batchIdempotencyKey`, `queueBatchKey`). */
export { Keys } from "@batchwrite/core"

/** The client's metrics: records offered, accepted and dead-lettered, retries, buffer depth. */
export * as ClientMetrics from "./ClientMetrics.js"

/** Where records that cannot be stored go: NDJSON-file and in-memory implementations. */
export * from "./DeadLetter.js"

/** The typed errors of the client (SPEC §3). */
export {
  type ConfigurationError,
  closeTimeoutCode,
  errorCodeOf,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  InvalidRequest,
  isConfigurationError,
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

/** A queue consumer as a `Stream` operator: groups messages, keys them by message ids, acknowledges after the 202. */
export * as QueueConsumer from "./QueueConsumer.js"

/**
 * A scoped buffer for records produced one at a time: size, bytes and age triggers, backpressure, the next group
 * sent on acceptance, upsert partitions, per-record receipts, `flush`, a close deadline.
 */
export * as RecordBuffer from "./RecordBuffer.js"

/** The client service: batch writes, jobs, row errors, records, objects, `write`. */
export * from "./RecordsClient.js"

/** Writing any number of records: the options and the summary. */
export {
  type BatchAccepted,
  type InvalidRow,
  type RunSettled,
  type Undelivered,
  type WriteEvent,
  type WriteInput,
  type WriteMode,
  type WriteOptions,
  type WriteSettings,
  type WriteSummary,
  writeMode
} from "./Write.js"
