/**
 * Internal: how `RecordBuffer` and `QueueConsumer` deliver one group of records. `sendGroup` writes the group
 * without waiting for its jobs and reports, record by record, what was accepted (the runs and their jobs), what was
 * refused for its content, and what was left unsent by a failure; `awaitRun` then waits for one accepted run's job
 * and reads its rejected rows. Sending the next group only needs the first step, so it can go as soon as the
 * previous group was accepted.
 */
import { type Job, Limits, type RowError } from "@batchwrite/core"
import { Chunk, type Duration, Effect, type Schedule, Stream } from "effect"
import type { RecordsClientError } from "./Errors.js"
import type { RecordsClient } from "./RecordsClient.js"
import type { Undelivered, WriteMode } from "./Write.js"

/** A contiguous run of a group the service accepted, with its job. */
export interface AcceptedRun {
  readonly firstIndex: number
  readonly count: number
  readonly jobId: string
}

/** What a group's send collects as it goes: the runs accepted and the records refused for their content. */
export interface Collector<A> {
  readonly runs: Array<AcceptedRun>
  readonly refused: Array<Undelivered<A>>
}

/** How groups are sent and jobs awaited. */
export interface DeliverySettings {
  readonly objectName: string
  readonly mode: WriteMode
  readonly maxBytes?: number | undefined
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
  readonly poll?: Schedule.Schedule<Job.Job, Job.Job> | undefined
}

/** How long a job GET asks the service to hold its answer when no `poll` schedule is given. */
const longPoll: Duration.DurationInput = "20 seconds"

/**
 * Sends a group in as few batches as the limits allow, one after another (in order, so an upsert's last record
 * wins), each with the key `idempotencyKey` gives it, collecting what was accepted and refused into `collector`
 * (which holds it even when the send is interrupted). Never fails: it resolves with the failure that stopped it, if
 * one did; then every record in no accepted run and not refused was not sent.
 */
export const sendGroup = <A>(
  client: RecordsClient,
  settings: DeliverySettings,
  records: ReadonlyArray<A>,
  idempotencyKey: (firstIndex: number, count: number) => string,
  collector: Collector<A>
): Effect.Effect<RecordsClientError | undefined> =>
  client
    .write<A>(settings.objectName, records, {
      ...settings.mode,
      concurrency: 1,
      maxRecords: Limits.maxRecordsPerBatch,
      maxBytes: settings.maxBytes,
      wait: false,
      collectRows: false,
      retry: settings.retry,
      idempotencyKey: (batch) => idempotencyKey(batch.firstIndex, batch.records.length),
      onEvent: (event) =>
        Effect.sync(() => {
          if (event._tag === "Accepted") {
            collector.runs.push({ firstIndex: event.firstIndex, count: event.count, jobId: event.jobId })
          } else if (event.jobId === undefined) {
            collector.refused.push(...event.outcome.deadLetters)
          }
        })
    })
    .pipe(
      Effect.as(undefined),
      Effect.catchAll((error) => Effect.succeed(error))
    )

/** What an accepted run's job did. */
export type RunOutcome =
  | {
      readonly _tag: "Done"
      readonly run: AcceptedRun
      readonly metrics: Job.JobMetrics
      /** Its rejected rows; `index` is within the run's batch. */
      readonly invalidRows: ReadonlyArray<RowError.RowErrorWithRecord>
    }
  | { readonly _tag: "Failed"; readonly run: AcceptedRun; readonly code: string; readonly message: string }
  | { readonly _tag: "Unconfirmed"; readonly run: AcceptedRun; readonly message: string }

/** Waits for a run's job (long-polling unless a `poll` schedule is set) and reads its rejected rows. */
export const awaitRun = (
  client: RecordsClient,
  settings: DeliverySettings,
  run: AcceptedRun
): Effect.Effect<RunOutcome> => {
  const job = { objectName: settings.objectName, jobId: run.jobId }
  return client
    .awaitJob(job, {
      retry: settings.retry,
      ...(settings.poll === undefined ? { longPoll } : { schedule: settings.poll })
    })
    .pipe(
      Effect.flatMap((done) =>
        (done.metrics.invalidRows > 0
          ? Stream.runCollect(client.jobErrors(job, { retry: settings.retry })).pipe(Effect.map(Chunk.toReadonlyArray))
          : Effect.succeed<ReadonlyArray<RowError.RowErrorWithRecord>>([])
        ).pipe(Effect.map((invalidRows): RunOutcome => ({ _tag: "Done", run, metrics: done.metrics, invalidRows })))
      ),
      Effect.catchAll(
        (error): Effect.Effect<RunOutcome> =>
          Effect.succeed(
            error._tag === "JobFailed"
              ? { _tag: "Failed", run, code: error.code, message: error.message }
              : { _tag: "Unconfirmed", run, message: error.message }
          )
      )
    )
}
