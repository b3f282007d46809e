/**
 * The success bodies of the API: each route's `data` in the success envelope `{"success": true, "data": …}`, with the
 * shapes of `packages/core` wherever core has them, and the few shapes only the API has (a single write's
 * outcome, the object list, health and readiness).
 */
import { Envelope, Job, ObjectSchema, StoredRecord } from "@batchwrite/core"
import { Schema } from "effect"

/** `202` of a batch POST: the batch is stored and queued as a job. */
export const AcceptedBatchResponse = Envelope.SuccessEnvelope(Job.AcceptedBatch).annotations({
  identifier: "AcceptedBatchResponse",
  description: "The batch is stored durably and queued as a job; poll statusPath (also the Location header)"
})

/** A job: `200` of the job GET, and of a batch POST answered synchronously (`Prefer: wait=N`). */
export const JobResponse = Envelope.SuccessEnvelope(Job.Job).annotations({
  identifier: "JobResponse",
  description: "The job, with its metrics and its first 100 row errors"
})

/** A page of a job's row errors, each with its rejected record. */
export const JobErrorsPageResponse = Envelope.SuccessEnvelope(Job.JobErrorsPage).annotations({
  identifier: "JobErrorsPageResponse",
  description: "A page of the job's row errors, each with its rejected record"
})

/** A page of stored rows, oldest first. */
export const RecordsPageResponse = Envelope.SuccessEnvelope(StoredRecord.RecordsPage).annotations({
  identifier: "RecordsPageResponse",
  description: "A page of stored rows, oldest first; nextCursor is null on the last page"
})

/** One stored row. */
export const StoredRecordResponse = Envelope.SuccessEnvelope(StoredRecord.StoredRecord).annotations({
  identifier: "StoredRecordResponse",
  description: "The stored row"
})

/**
 * What a single write did: `inserted` a new row, `updated` the row with the same match key, or nothing because the
 * record is older than the stored row by the object's `orderBy` (`stale`).
 */
export const RecordWriteOutcome = Schema.Literal("inserted", "updated", "stale").annotations({
  identifier: "RecordWriteOutcome",
  description: "inserted (201), updated or stale (200)"
})

/** What a single write did. */
export type RecordWriteOutcome = typeof RecordWriteOutcome.Type

/** The `data` of a single write: its outcome and the row as stored after it (unchanged when `stale`). */
export const RecordWriteResult = Schema.Struct({
  outcome: RecordWriteOutcome,
  record: StoredRecord.StoredRecord
}).annotations({ identifier: "RecordWriteResult", description: "The outcome of a single write and the stored row" })

/** The `data` of a single write. */
export type RecordWriteResult = typeof RecordWriteResult.Type

/** `201` of a single write: a new row. */
export const RecordInsertedResponse = Envelope.SuccessEnvelope(
  Schema.Struct({ outcome: Schema.Literal("inserted"), record: StoredRecord.StoredRecord })
).annotations({ identifier: "RecordInsertedResponse", description: "A new row was inserted" })

/** `200` of a single write: an existing row was merged into (`updated`), or left alone as newer (`stale`). */
export const RecordUpdatedResponse = Envelope.SuccessEnvelope(
  Schema.Struct({ outcome: Schema.Literal("updated", "stale"), record: StoredRecord.StoredRecord })
).annotations({
  identifier: "RecordUpdatedResponse",
  description: "The row with the same match key was updated, or kept because the record is older (stale)"
})

/** The `data` of `GET /objects`: every object of the workspace, by name. */
export const ObjectsList = Schema.Struct({
  objects: Schema.Array(ObjectSchema.ObjectDefinition)
}).annotations({ identifier: "ObjectsList", description: "Every object of the workspace, by name" })

/** The `data` of `GET /objects`. */
export type ObjectsList = typeof ObjectsList.Type

/** Every object of the workspace. */
export const ObjectsListResponse = Envelope.SuccessEnvelope(ObjectsList).annotations({
  identifier: "ObjectsListResponse",
  description: "Every object of the workspace, by name"
})

/** One object and its schema. */
export const ObjectResponse = Envelope.SuccessEnvelope(ObjectSchema.ObjectDefinition).annotations({
  identifier: "ObjectResponse",
  description: "The object and its schema"
})

/** The `data` of `GET /healthz`: the process is up. */
export const Health = Schema.Struct({ status: Schema.Literal("ok") }).annotations({
  identifier: "Health",
  description: "The process is up"
})

/** The process is up. */
export const HealthResponse = Envelope.SuccessEnvelope(Health).annotations({
  identifier: "HealthResponse",
  description: "The process is up"
})

/** The state of one readiness check. */
export const CheckState = Schema.Literal("ok", "failing").annotations({ identifier: "CheckState" })

/**
 * The checks of `GET /readyz`: storage reachable, workers running. A `503` carries the same object in
 * `error.details.checks`.
 */
export const ReadinessChecks = Schema.Struct({
  storage: CheckState,
  workers: CheckState
}).annotations({ identifier: "ReadinessChecks", description: "Storage reachable, workers running" })

/** The checks of `GET /readyz`. */
export type ReadinessChecks = typeof ReadinessChecks.Type

/**
 * Admission control as `GET /readyz` reports it: the bound on request body bytes in flight on the node and on each
 * workspace's backlog (records accepted, not yet committed), where the node stands, and the drain rate.
 */
export const AdmissionReport = Schema.Struct({
  inFlightBodyBytes: Schema.NonNegativeInt,
  maxInFlightBodyBytes: Schema.NonNegativeInt,
  backlogRecords: Schema.Record({ key: Schema.String, value: Schema.NonNegativeInt }),
  maxBacklogRecords: Schema.NonNegativeInt,
  drainRecordsPerSecond: Schema.NonNegativeInt
}).annotations({
  identifier: "AdmissionReport",
  description:
    "Bounds on in-flight body bytes (node) and backlog records (per workspace), the current values, and records " +
    "committed per second on this node"
})

/** Admission control as `GET /readyz` reports it. */
export type AdmissionReport = typeof AdmissionReport.Type

/** The `data` of `GET /readyz` when ready. */
export const Readiness = Schema.Struct({
  status: Schema.Literal("ready"),
  checks: ReadinessChecks,
  admission: AdmissionReport
}).annotations({ identifier: "Readiness", description: "Storage is reachable and the workers run" })

/** Ready to serve. */
export const ReadinessResponse = Envelope.SuccessEnvelope(Readiness).annotations({
  identifier: "ReadinessResponse",
  description: "Storage is reachable and the workers run"
})

/** The OpenAPI 3.1 document, as `GET /public/v1/openapi.json` serves it (not wrapped in an envelope). */
export const OpenApiDocument = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "OpenApiDocument",
  description: "The OpenAPI 3.1 document of this API"
})
