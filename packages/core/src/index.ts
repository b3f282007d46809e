/**
 * The pure core of batchwrite: Schemas, validation, batching and idempotency keys. No I/O.
 */
export {}
