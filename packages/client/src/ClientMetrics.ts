/**
 * The client's `Metric`s: records offered to buffers, accepted by the service and dead-lettered, retried requests,
 * and the records buffers hold. They are read through whatever metric exporter the application installs.
 */
import { Metric } from "effect"

/** Records offered to a `RecordBuffer` or a queue consumer, counted as they are grouped to be sent. */
export const recordsOffered = Metric.counter("batchwrite_client_records_offered", {
  description: "Records offered to a RecordBuffer or a queue consumer",
  incremental: true
})

/** Records the service accepted (`202`). */
export const recordsAccepted = Metric.counter("batchwrite_client_records_accepted", {
  description: "Records the service accepted (202)",
  incremental: true
})

/** Records sent to the dead letter (rejected rows included). */
export const recordsDeadLettered = Metric.counter("batchwrite_client_records_dead_lettered", {
  description: "Records sent to the dead letter, rejected rows included",
  incremental: true
})

/** Requests retried after a retryable failure. */
export const retries = Metric.counter("batchwrite_client_retries", {
  description: "Requests retried after a retryable failure",
  incremental: true
})

/** Records buffers hold and have not yet sent. */
export const bufferDepth = Metric.gauge("batchwrite_client_buffer_depth", {
  description: "Records RecordBuffers hold and have not yet sent"
})
