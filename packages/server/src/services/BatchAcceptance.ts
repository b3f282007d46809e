/**
 * Accepting batches (SPEC §1.3–§1.5): a batch that passes its checks gets a job id and its plan (how it merges, and
 * whether it waits for earlier jobs of its object), then its body, its job and whatever the caller stores with it
 * (the idempotency record of the request) commit in ONE transaction. The workers are woken after the commit.
 */
import { randomBytes } from "node:crypto"
import { Job, type ObjectSchema } from "@batchwrite/core"
import { Effect, Exit } from "effect"
import { AcceptedRecords } from "../jobs/AcceptedRecords.js"
import { JobWorkers } from "../jobs/JobWorkers.js"
import { JobsRepo } from "../storage/JobsRepo.js"
import { type BatchRejected, checkBatch } from "./BatchIntake.js"
import { bodyWork } from "./BodyWork.js"
import type { ObjectNotFound } from "./Errors.js"
import { Objects } from "./Objects.js"
import { ServiceMetrics } from "./ServiceMetrics.js"

/** A new job id: `rjob_` and a ULID. */
export const newJobId = (): string => Job.formatJobId(Date.now(), randomBytes(10))

/** A batch request: whose, for which object, which operation, and the body text as received. */
export interface BatchRequest {
  readonly workspace: string
  readonly objectName: string
  readonly operation: Job.Operation
  readonly body: string
}

/**
 * What the caller stores in the acceptance's transaction, knowing the accepted batch (its idempotency record); a
 * failure rolls the acceptance back.
 */
export type AlsoInTransaction<E, R> = (accepted: Job.AcceptedBatch) => Effect.Effect<void, E, R>

/** Batch acceptance. */
export class BatchAcceptance extends Effect.Service<BatchAcceptance>()("server/BatchAcceptance", {
  effect: Effect.gen(function* () {
    const objects = yield* Objects
    const jobs = yield* JobsRepo
    const acceptedRecords = yield* AcceptedRecords
    const workers = yield* JobWorkers
    const metrics = yield* ServiceMetrics

    /**
     * Queues checked records as a job; the records are kept for this node's worker (when there is room), the body is
     * the durable truth. Nothing here holds on to the records past `keep`: a batch waiting for its commit holds its
     * body text only, not its parsed form (several times larger), so many large bodies in flight stay affordable.
     */
    const queue = <E, R>(
      workspace: string,
      objectName: string,
      checked: { readonly records: ReadonlyArray<unknown>; readonly plan: Job.BatchPlan },
      body: string,
      alsoInTransaction: AlsoInTransaction<E, R>
    ): Effect.Effect<Job.AcceptedBatch, E, R> =>
      Effect.suspend(() => {
        const jobId = newJobId()
        const plan = checked.plan
        const count = checked.records.length
        return Effect.zipRight(
          acceptedRecords.keep(jobId, checked.records, body.length),
          commit(workspace, objectName, jobId, plan, count, body, alsoInTransaction)
        )
      })

    const commit = <E, R>(
      workspace: string,
      objectName: string,
      jobId: string,
      plan: Job.BatchPlan,
      count: number,
      body: string,
      alsoInTransaction: AlsoInTransaction<E, R>
    ): Effect.Effect<Job.AcceptedBatch, E, R> =>
      Effect.suspend(() => {
        const accepted: Job.AcceptedBatch = {
          operation: plan.operation,
          objectName,
          jobId,
          state: "queued",
          acceptedRecords: count,
          statusPath: Job.jobStatusPath(objectName, jobId)
        }
        const input = { jobId, workspace, objectName, plan, body, acceptedRecords: count, createdAt: new Date() }
        // The transaction runs to its end even when the client goes away meanwhile (a COMMIT already posted to the
        // database commits whether or not anyone waits for it), and once committed the records are counted and a
        // worker woken: the count is of commits, not of answers sent. The whole of it is uninterruptible, the exit
        // handler included: with only the transaction so, an interruption that arrived meanwhile took effect between
        // its end and the handler, which then saw an interruption instead of the commit (SQLite missed counts).
        return Effect.as(
          Effect.uninterruptible(
            Effect.onExit(jobs.queue(input, alsoInTransaction(accepted)), (exit) =>
              Exit.isSuccess(exit)
                ? Effect.zipRight(
                    metrics.recordAccepted(count),
                    workers.notifyAccepted({ jobId, ordered: plan.ordered })
                  )
                : acceptedRecords.forget(jobId)
            )
          ),
          accepted
        )
      })

    return {
      /**
       * Checks a batch against its object and queues it as a job, with `alsoInTransaction` in the same transaction.
       * Answers the accepted batch (the `202`'s data) after the commit.
       */
      accept: <E, R>(
        request: BatchRequest,
        alsoInTransaction: AlsoInTransaction<E, R>
      ): Effect.Effect<Job.AcceptedBatch, BatchRejected | ObjectNotFound | E, R> =>
        // Not a generator: its frame would hold the parsed records until the commit.
        Effect.flatMap(objects.find(request.workspace, request.objectName), (definition) =>
          Effect.flatMap(
            bodyWork(
              request.body.length,
              Effect.suspend(() => checkBatch(request.body, request.operation, definition))
            ),
            (checked) => queue(request.workspace, request.objectName, checked, request.body, alsoInTransaction)
          )
        ),

      /**
       * Queues one valid record as a one-record job that keeps its place in the acceptance order: an upsert by
       * `mergeKey`, or an append when it is `null`.
       */
      acceptRecord: (
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        record: unknown,
        mergeKey: string | null
      ): Effect.Effect<Job.AcceptedBatch> => {
        const operation = mergeKey === null ? "append-batch" : "upsert-batch"
        const body = JSON.stringify(
          mergeKey === null ? { records: [record] } : { records: [record], matchKey: mergeKey }
        )
        const plan = Job.planBatch(operation, definition.matchKeys, mergeKey)
        return queue(workspace, definition.name, { records: [record], plan }, body, () => Effect.void)
      }
    } as const
  }),
  dependencies: [Objects.Default, JobsRepo.Default, AcceptedRecords.Default, ServiceMetrics.Default]
}) {}
