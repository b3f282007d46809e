/**
 * Jobs and batch requests on the wire (SPEC §1.3–§1.6): the bodies of the batch endpoints, the `202` answer that
 * accepts a batch, the job a client polls and the pages of its row errors.
 */
import { Either, Schema } from "effect"
import * as ExactJson from "./ExactJson.js"
import { ObjectName } from "./ObjectSchema.js"
import { RowError, RowErrorWithRecord } from "./RowError.js"

/** What a job does with its records: append them as new rows, or upsert them by a match key. */
export const Operation = Schema.Literal("append-batch", "upsert-batch").annotations({
  identifier: "Operation",
  description: "append-batch or upsert-batch"
})

/** What a job does with its records. */
export type Operation = typeof Operation.Type

/** Where a job is: `queued` → `processing` → `completed` | `failed`. */
export const JobState = Schema.Literal("queued", "processing", "completed", "failed").annotations({
  identifier: "JobState",
  description: "queued → processing → completed | failed"
})

/** Where a job is. */
export type JobState = typeof JobState.Type

/** Whether a job in this state is done for good (`completed` or `failed`). */
export const isTerminal = (state: JobState): boolean => state === "completed" || state === "failed"

/** The prefix of every job id. */
export const jobIdPrefix = "rjob_"

/** The format of a job id: `rjob_` and 26 characters of Crockford base 32, a ULID. */
export const jobIdPattern = /^rjob_[0-9A-HJKMNP-TV-Z]{26}$/

/** A job id: `rjob_` followed by a ULID (`rjob_01JD…`). */
export const JobId = Schema.String.pipe(
  Schema.pattern(jobIdPattern, { message: (issue) => `not a job id: ${JSON.stringify(issue.actual)}` })
).annotations({ identifier: "JobId", description: "rjob_ followed by a ULID" })

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/**
 * Formats a job id from a time in milliseconds since the epoch (the first 48 bits of the ULID, so ids sort by
 * creation time) and at least 10 random bytes (the last 80 bits).
 */
export const formatJobId = (timestampMillis: number, random: Uint8Array): string => {
  let time = Math.max(0, Math.min(Math.floor(timestampMillis), 2 ** 48 - 1))
  let timePart = ""
  for (let i = 0; i < 10; i++) {
    timePart = crockford[time % 32]! + timePart
    time = Math.floor(time / 32)
  }
  let randomPart = ""
  let buffer = 0
  let bits = 0
  for (let i = 0; i < 10; i++) {
    buffer = ((buffer << 8) | (random[i] ?? 0)) & 0xfff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      randomPart += crockford[(buffer >> bits) & 31]
    }
  }
  return `${jobIdPrefix}${timePart}${randomPart}`
}

/** The path of a job under the API base path: `/records/{object}/jobs/{jobId}`. */
export const jobStatusPath = (objectName: string, jobId: string): string => `/records/${objectName}/jobs/${jobId}`

/** The path of a job's row errors under the API base path: `/records/{object}/jobs/{jobId}/errors`. */
export const jobErrorsPath = (objectName: string, jobId: string): string => `${jobStatusPath(objectName, jobId)}/errors`

/** The row counts of a job. */
export const JobMetrics = Schema.Struct({
  totalRows: Schema.NonNegativeInt,
  processedRows: Schema.NonNegativeInt,
  insertedRows: Schema.NonNegativeInt,
  updatedRows: Schema.NonNegativeInt,
  staleRows: Schema.NonNegativeInt,
  invalidRows: Schema.NonNegativeInt
}).annotations({ identifier: "JobMetrics", description: "The row counts of a job" })

/** The row counts of a job. */
export type JobMetrics = typeof JobMetrics.Type

/** Why a job `failed`: the job itself could not be processed. `code` is an `ErrorCode`. */
export const JobFailure = Schema.Struct({
  code: Schema.String,
  message: Schema.String
}).annotations({ identifier: "JobFailure", description: "Why a job failed" })

/** Why a job `failed`. */
export type JobFailure = typeof JobFailure.Type

/**
 * A job as `GET /public/v1/records/{object}/jobs/{jobId}` returns it (SPEC §1.6). Timestamps are ISO 8601 strings,
 * `null` until reached; `errors` holds the first 100 row errors, `errorsPath` pages through all of them; `failure`
 * is present only on a `failed` job.
 */
export const Job = Schema.Struct({
  jobId: JobId,
  operation: Operation,
  objectName: ObjectName,
  sequence: Schema.NonNegativeInt,
  state: JobState,
  acceptedRecords: Schema.NonNegativeInt,
  createdAt: Schema.String,
  startedAt: Schema.NullOr(Schema.String),
  completedAt: Schema.NullOr(Schema.String),
  metrics: JobMetrics,
  errors: Schema.Array(RowError),
  errorsPath: Schema.String,
  failure: Schema.optionalWith(JobFailure, { exact: true })
}).annotations({ identifier: "Job", description: "A batch job: its state, metrics and first row errors" })

/** A job. */
export type Job = typeof Job.Type

/** The `data` of the `202 Accepted` answer to a batch (SPEC §1.5). */
export const AcceptedBatch = Schema.Struct({
  operation: Operation,
  objectName: ObjectName,
  jobId: JobId,
  state: JobState,
  acceptedRecords: Schema.NonNegativeInt,
  statusPath: Schema.String
}).annotations({ identifier: "AcceptedBatch", description: "A batch accepted and queued as a job" })

/** The `data` of the `202 Accepted` answer to a batch. */
export type AcceptedBatch = typeof AcceptedBatch.Type

/** A page of a job's row errors, each with its rejected record; `nextCursor` is `null` on the last page. */
export const JobErrorsPage = Schema.Struct({
  errors: Schema.Array(RowErrorWithRecord),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "JobErrorsPage", description: "A page of a job's row errors with their records" })

/** A page of a job's row errors. */
export type JobErrorsPage = typeof JobErrorsPage.Type

/**
 * The body of `POST …/append-batch`. Records are checked by the handler (count, each an object, fields on the
 * schema) so that each failure gets its own message and details.
 */
export const AppendBatchBody = Schema.Struct({
  records: Schema.Array(Schema.Unknown)
}).annotations({ identifier: "AppendBatchBody", description: "1 to 10,000 records, each a JSON object" })

/** The body of `POST …/append-batch`. */
export type AppendBatchBody = typeof AppendBatchBody.Type

/** The body of `POST …/upsert-batch`: the records and the match key they merge by. */
export const UpsertBatchBody = Schema.Struct({
  records: Schema.Array(Schema.Unknown),
  matchKey: Schema.String
}).annotations({
  identifier: "UpsertBatchBody",
  description: "1 to 10,000 records, each a JSON object, and one of the object's match keys"
})

/** The body of `POST …/upsert-batch`. */
export type UpsertBatchBody = typeof UpsertBatchBody.Type

/** A batch body as parsed, before any check against its object: the `records` array and the `matchKey` sent. */
export interface ParsedBatchBody {
  readonly records: ReadonlyArray<unknown>
  readonly matchKey: unknown
}

/** What kind of JSON value `value` is, for messages: `null`, `an array`, `an object`, `a number`, … (`nothing` when absent) */
export const describeJson = (value: unknown): string =>
  value === undefined
    ? "nothing"
    : value === null
      ? "null"
      : Array.isArray(value)
        ? "an array"
        : typeof value === "object"
          ? "an object"
          : `a ${typeof value}`

/**
 * Parses the text of a batch body (`{"records": […], "matchKey"?: …}`): the one parse of a batch, at acceptance and
 * again when a worker reads a stored body back. Fails with what is wrong, in words for the sender.
 */
export const parseBatchBody = (text: string): Either.Either<ParsedBatchBody, string> => {
  let body: unknown
  try {
    body = ExactJson.parse(text)
  } catch (error) {
    return Either.left(`the body is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Either.left(`the body must be a JSON object with a "records" array, got ${describeJson(body)}`)
  }
  const { matchKey, records } = body as { readonly records?: unknown; readonly matchKey?: unknown }
  return Array.isArray(records)
    ? Either.right({ records, matchKey })
    : Either.left(`the body needs a "records" array, got ${describeJson(records)}`)
}

/** How a batch's job is applied: the field upserts merge by, and whether it waits for earlier jobs of its object. */
export interface BatchPlan {
  readonly operation: Operation
  /** The match key an upsert merges by; `null` for an append. */
  readonly mergeKey: string | null
  /**
   * Whether the job applies only after every earlier job of its object: an upsert, or an append to an object with
   * match keys (its rows may be merged into by later upserts, so acceptance order must hold).
   */
  readonly ordered: boolean
}

/** The plan of a batch: the one place that decides merging and ordering. */
export const planBatch = (
  operation: Operation,
  matchKeys: ReadonlyArray<string>,
  mergeKey: string | null
): BatchPlan => ({
  operation,
  mergeKey: operation === "upsert-batch" ? mergeKey : null,
  ordered: operation === "upsert-batch" || matchKeys.length > 0
})
