/**
 * `batchwrite jobs get <object> <jobId> [--wait]` and `batchwrite jobs errors <object> <jobId>`: a job's state and
 * counts, and its rejected rows with their records.
 */
import type { Job, RowError } from "@batchwrite/core"
import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { WorkError } from "../CliError.js"
import { asWorkError } from "../Failure.js"
import { compactJson, printLines, printResult } from "../Output.js"
import { session } from "../Root.js"
import { formatCount } from "../write/Summary.js"

const objectName = Args.text({ name: "object" }).pipe(Args.withDescription("The object the job writes into"))
const jobId = Args.text({ name: "jobId" }).pipe(Args.withDescription("The job id, like rjob_01J…"))
const wait = Options.boolean("wait").pipe(
  Options.withDescription("Wait until the job is completed or failed (polls; up to 30 minutes)")
)

const seconds = (from: string, to: string | null): string =>
  to === null ? "" : ` (${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s)`

/** A job for a person. */
export const describeJob = (job: Job.Job): string => {
  const { metrics } = job
  const lines = [
    `job ${job.jobId}: ${job.operation} into '${job.objectName}', ${job.state}`,
    `  accepted ${formatCount(job.acceptedRecords)} · processed ${formatCount(metrics.processedRows)} · ` +
      `inserted ${formatCount(metrics.insertedRows)} · updated ${formatCount(metrics.updatedRows)} · ` +
      `stale ${formatCount(metrics.staleRows)} · invalid ${formatCount(metrics.invalidRows)}`,
    `  created ${job.createdAt}${job.completedAt === null ? "" : ` · completed ${job.completedAt}${seconds(job.createdAt, job.completedAt)}`}`
  ]
  if (job.failure !== undefined) lines.push(`  failed: ${job.failure.message} (${job.failure.code})`)
  if (metrics.invalidRows > 0) lines.push(`  rejected rows: batchwrite jobs errors ${job.objectName} ${job.jobId}`)
  return lines.join("\n")
}

const get = Command.make("get", { objectName, jobId, wait }, ({ jobId, objectName, wait }) =>
  Effect.gen(function* () {
    const { context, json, patient, quick } = yield* session({ objectName, jobId })
    const ref = { objectName, jobId }
    const job = yield* (
      wait
        ? // A failed job is an answer too: show it, then exit 1.
          patient.awaitJob(ref).pipe(Effect.catchTag("JobFailed", () => patient.getJob(objectName, jobId)))
        : quick.getJob(objectName, jobId)
    ).pipe(asWorkError(context))
    yield* printResult(json, job, () => describeJob(job))
    if (job.state === "failed") return yield* new WorkError({ message: `job ${jobId} failed` })
  })
).pipe(
  Command.withDescription(
    "Show a job: its state and counts.\nExample: batchwrite jobs get events rjob_01JB8Y6M0S4G6QK1N3E2A7C9TF --wait"
  )
)

/** A rejected row for a person: where it was, which field, why, and the record. */
const describeRowError = (error: RowError.RowErrorWithRecord): string =>
  `row ${error.index}${error.field === null ? "" : ` ${error.field}`}: ${error.message} (${error.code}) ${compactJson(error.record)}`

const errors = Command.make("errors", { objectName, jobId }, ({ jobId, objectName }) =>
  Effect.gen(function* () {
    const { context, json, quick, patient } = yield* session({ objectName, jobId })
    yield* quick.getJob(objectName, jobId).pipe(asWorkError(context))
    yield* printLines(json, patient.jobErrors({ objectName, jobId }), describeRowError).pipe(asWorkError(context))
  })
).pipe(
  Command.withDescription(
    "List a job's rejected rows (index in the batch, field, reason, record); --json prints one JSON object per line.\n" +
      "Example: batchwrite jobs errors profiles rjob_01JB8Y6M0S4G6QK1N3E2A7C9TF --json > rejected.ndjson"
  )
)

/** `batchwrite jobs`. */
export const jobsCommand = Command.make("jobs").pipe(
  Command.withDescription("Read the jobs batches became"),
  Command.withSubcommands([get, errors])
)
