/**
 * Accepting batches (SPEC §1.3–§1.5): a batch that passes its checks gets a job id and its plan (how it merges, and
 * whether it waits for earlier jobs of its object), then its body, its job and whatever the caller stores with it
 * (the idempotency record of the request) commit in ONE transaction. The workers are woken after the commit.
 *
 * **Inline apply** ({@link InlineApply}): an unordered batch (an append to an object without match keys) is applied
 * in that same transaction instead: its records are validated and written, its row errors recorded and its job
 * completed, exactly as a worker would, and its body is never stored. The `202` is the same (its job is `completed`
 * when read). A batch then costs one transaction, not an acceptance and a job (the body written, read back and
 * deleted); with many clients the acceptances of a workspace share transactions, so their records are committed
 * together. Ordered batches are queued (group commit merges them), unless `InlineApply.ordered`: then one is applied
 * inline only when nothing of its object is queued or processing, so acceptance order holds. If the apply fails (a
 * defect), the batch is queued instead; past `InlineApply`'s bytes in flight too.
 *
 * An append to an object without match keys, of 64 KiB to 4 MiB, is parsed, checked and serialized on a preparation
 * thread (`AppendPreparation`) instead of this one; its outcome is the same.
 */
import { randomFillSync } from "node:crypto"
import { Job, Limits, type ObjectSchema } from "@batchwrite/core"
import { Cause, Context, Effect, Exit, Option } from "effect"
import { AcceptedRecords } from "../jobs/AcceptedRecords.js"
import { type KeptBatch, parsed } from "../jobs/BatchRecords.js"
import { JobProcessor, type ProcessResult } from "../jobs/JobProcessor.js"
import { JobWorkers } from "../jobs/JobWorkers.js"
import { JobsRepo } from "../storage/JobsRepo.js"
import { isTransientFault, storageFaultOf } from "../storage/StorageFault.js"
import { type BatchRejected, checkBatch } from "./BatchIntake.js"
import { Admission } from "./Admission.js"
import { AppendPreparation } from "./AppendPreparation.js"
import { bodyWork } from "./BodyWork.js"
import type { ObjectNotFound } from "./Errors.js"
import { Objects } from "./Objects.js"
import { ServiceMetrics } from "./ServiceMetrics.js"

// Random bytes for job ids, drawn from the system 1,000 ids at a time (a call per id cost more than the id).
const idRandomness = Buffer.alloc(10 * 1_000)
let idRandomnessUsed = idRandomness.length

/** A new job id: `rjob_` and a ULID. */
export const newJobId = (): string => {
  if (idRandomnessUsed === idRandomness.length) {
    randomFillSync(idRandomness)
    idRandomnessUsed = 0
  }
  const random = idRandomness.subarray(idRandomnessUsed, idRandomnessUsed + 10)
  idRandomnessUsed += 10
  return Job.formatJobId(Date.now(), random)
}

/** Which batches are applied in their acceptance's transaction (inline apply). */
export interface InlineApplySettings {
  /** The most records a batch may have to be applied inline; 0: never. */
  readonly maxRecords: number
  /**
   * The fewest: smaller batches are queued, where group commit merges them with their neighbours (fewer statements
   * per record than applying each alone, which counts where every statement is a round trip: PostgreSQL).
   */
  readonly minRecords: number
  /**
   * The most body bytes of batches being applied inline at once on this node: such a batch holds its parsed records
   * (a few times its body) until its transaction runs, so beyond this, batches are queued instead (the first is
   * always let in).
   */
  readonly maxBodyBytes: number
  /**
   * The largest body of a batch applied inline; a larger one is queued. Applied inline, a batch's rows are built on
   * the HTTP thread and sent to the database in the acceptance's transaction, beside the other acceptances; queued,
   * one of the few workers applies it. Under the 400 × 10 MB flood of `soak/` with such bodies applied inline, a
   * client's body took over 60 s to be read (408): large bodies stay on the path that flood was measured on.
   */
  readonly maxBatchBodyBytes: number
  /**
   * Whether ordered batches (upserts, appends to an object with match keys) are applied inline too. Off by default:
   * queued, the consecutive ordered jobs of an object are merged by group commit into one pass (one upsert of many
   * jobs' records), which measured faster than applying each batch alone in its acceptance (PostgreSQL upserts of 100
   * records: 18,856 records/s queued, 6,560 inline).
   */
  readonly ordered: boolean
}

/**
 * Inline apply's settings; default: every unordered batch of up to 10,000 records and 4 MiB, 32 MiB of bodies at
 * once. A node takes {@link inlineApplyFor} its storage.
 */
export class InlineApply extends Context.Reference<InlineApply>()("server/InlineApply", {
  defaultValue: (): InlineApplySettings => ({
    maxRecords: Limits.maxRecordsPerBatch,
    minRecords: 1,
    maxBodyBytes: 32 * 1024 * 1024,
    maxBatchBodyBytes: 4 * 1024 * 1024,
    ordered: false
  })
}) {}

/**
 * Inline apply's settings on a storage, as measured (`benchmarks/README.md`, appends, 8 connections): on SQLite the
 * default (one writer: applying in the acceptance saves the body's write, read and deletion: appends × 1,000
 * 95,602 → 109,305 records/s, × 10,000 108,725 → 144,867, smaller ones even); on PostgreSQL from 2,000 records (×
 * 10,000 74,991 → 90,740), as smaller batches gain more from group commit, where a batch's statements are each a
 * round trip (× 10 3,748 → 2,498, × 100 29,630 → 21,478 when applied inline). At 1,000 both commit alike (57,670 →
 * 71,343 in one run; 64,977 queued against 68,236 inline, medians of 3 rounds, in another), but applied inline the
 * accept waits for the apply: p99 229 ms against 168 ms queued, over the 200 ms that batches of up to 1,000 must keep.
 */
export const inlineApplyFor = (storage: "Sqlite" | "Postgres"): InlineApplySettings =>
  storage === "Sqlite" ? InlineApply.defaultValue() : { ...InlineApply.defaultValue(), minRecords: 2_000 }

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
    const processor = yield* JobProcessor
    const metrics = yield* ServiceMetrics
    const inline = yield* InlineApply
    const admission = yield* Admission
    const preparation = yield* AppendPreparation

    // Body bytes of the batches being applied inline (waiting for their transaction or in it).
    let inlineBodyBytes = 0
    // Takes room for a batch to be applied inline, when it may be: answers whether it took it.
    const reserveInline = (plan: Job.BatchPlan, records: number, bytes: number) =>
      Effect.sync(() => {
        const fits = inlineBodyBytes === 0 || inlineBodyBytes + bytes <= inline.maxBodyBytes
        const sized = records >= inline.minRecords && records <= inline.maxRecords && bytes <= inline.maxBatchBodyBytes
        if ((plan.ordered && !inline.ordered) || !sized || !fits) return false
        inlineBodyBytes += bytes
        return true
      })
    const releaseInline = (bytes: number) =>
      Effect.sync(() => {
        inlineBodyBytes -= bytes
      })

    /**
     * Applies checked records inline (when there is room), or queues them as a job; the records are kept for this
     * node's worker (when there is room), the body is the durable truth. Only a batch applied inline holds on to its
     * records past `keep`, within `InlineApply`'s bytes: a queued batch waiting for its commit holds its body text
     * only, not its parsed form (several times larger), so many large bodies in flight stay affordable.
     *
     * Call it when the batch is accepted (it takes the job's id and creation time). It makes no closure that refers
     * to `checked`: a closure holds every variable of the scopes it was made in that any closure of theirs refers
     * to, so one such reference would keep the parsed records alive until the commit, for every batch waiting for
     * its transaction (a flood of 10 MB bodies held ~500 MiB more). They reach the inline apply through `held`,
     * which is emptied when the batch is queued instead.
     */
    const acceptChecked = <E, R>(
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      checked: { readonly batch: KeptBatch; readonly count: number; readonly plan: Job.BatchPlan },
      body: string,
      alsoInTransaction: AlsoInTransaction<E, R>
    ): Effect.Effect<Job.AcceptedBatch, E, R> => {
      const jobId = newJobId()
      const { plan } = checked
      const { count } = checked
      const accepted: Job.AcceptedBatch = {
        operation: plan.operation,
        objectName: definition.name,
        jobId,
        state: "queued",
        acceptedRecords: count,
        statusPath: Job.jobStatusPath(definition.name, jobId)
      }
      const input = {
        jobId,
        workspace,
        objectName: definition.name,
        plan,
        body,
        acceptedRecords: count,
        createdAt: new Date()
      }
      const queueOnly = Effect.as(jobs.queue(input, alsoInTransaction(accepted)), Option.none<ProcessResult>())
      const applyInline = (batch: KeptBatch) =>
        jobs
          .queueOrApply(input, alsoInTransaction(accepted), (job) => processor.applyNow(job, batch, definition))
          .pipe(
            // A transient storage fault (full disk, lost connection) is answered as such (503); another defect of the
            // apply leaves the batch to a worker (which retries, and fails a job that keeps failing).
            Effect.catchAllDefect((defect) =>
              Option.exists(storageFaultOf(Cause.die(defect)), isTransientFault)
                ? Effect.die(defect)
                : Effect.zipRight(Effect.logWarning("applying a batch inline failed; it is queued", defect), queueOnly)
            ),
            Effect.ensuring(releaseInline(body.length))
          )
      const held: { batch: KeptBatch | undefined } = { batch: checked.batch }
      const accepting = Effect.flatMap(reserveInline(plan, count, body.length), (reserved) => {
        const batch = held.batch!
        held.batch = undefined
        return reserved ? applyInline(batch) : queueOnly
      })
      return Effect.zipRight(
        acceptedRecords.keep(jobId, checked.batch, body.length),
        Effect.as(commit(workspace, accepted, plan, accepting), accepted)
      )
    }

    // The transaction runs to its end even when the client goes away meanwhile (a COMMIT already posted to the
    // database commits whether or not anyone waits for it), and once committed the records are counted and a worker
    // woken, the job noted in the workspace's backlog (or the inline-applied job, committed already, signalled): the
    // count is of commits, not of answers sent. The whole of it is
    // uninterruptible, the exit handler included: with only the transaction so, an interruption that arrived
    // meanwhile took effect between its end and the handler, which then saw an interruption instead of the commit
    // (SQLite missed counts).
    const commit = <E, R>(
      workspace: string,
      accepted: Job.AcceptedBatch,
      plan: Job.BatchPlan,
      accepting: Effect.Effect<Option.Option<ProcessResult>, E, R>
    ): Effect.Effect<void, E, R> =>
      Effect.uninterruptible(
        Effect.onExit(accepting, (exit) =>
          Exit.isSuccess(exit)
            ? Effect.zipRight(
                metrics.recordAccepted(accepted.acceptedRecords),
                Option.match(exit.value, {
                  onNone: () =>
                    Effect.zipRight(
                      admission.noteAccepted(workspace, accepted.jobId, accepted.acceptedRecords),
                      workers.notifyAccepted({ jobId: accepted.jobId, ordered: plan.ordered })
                    ),
                  onSome: (applied) =>
                    Effect.zipRight(acceptedRecords.forget(accepted.jobId), workers.noteTerminal(applied))
                })
              )
            : acceptedRecords.forget(accepted.jobId)
        )
      )

    // An append to an object without match keys, of a body large enough and not too large to apply inline, is
    // prepared on a preparation thread (`AppendPreparation`); `None` for any other batch, or when the thread did not
    // prepare it (the batch is then checked here, which answers its error).
    const prepareOffThread = (request: BatchRequest, definition: ObjectSchema.ObjectDefinition) =>
      request.operation === "append-batch" &&
      definition.matchKeys.length === 0 &&
      request.body.length <= inline.maxBatchBodyBytes &&
      preparation.applies(request.body.length)
        ? preparation.prepare(request.body, definition)
        : Effect.succeedNone

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
            Effect.flatMap(prepareOffThread(request, definition), (prepared) =>
              Option.match(prepared, {
                onSome: (batch) =>
                  Effect.succeed({
                    batch,
                    count: batch.total,
                    plan: Job.planBatch(request.operation, definition.matchKeys, null)
                  }),
                onNone: () =>
                  Effect.map(
                    bodyWork(
                      request.body.length,
                      Effect.suspend(() => checkBatch(request.body, request.operation, definition))
                    ),
                    ({ plan, records }) => ({ batch: parsed(records), count: records.length, plan })
                  )
              })
            ),
            (checked) => acceptChecked(request.workspace, definition, checked, request.body, alsoInTransaction)
          )
        ),

      /**
       * Queues one valid record as a one-record job that keeps its place in the acceptance order: an upsert by
       * `mergeKey`, or an append when it is `null`. Make the effect when the record is accepted: it takes its job id
       * and creation time when made.
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
        // Made here, not suspended: a suspended effect's closure would hold the record until the commit (the fiber
        // that runs it keeps it), which `test/reliability/QueuedMemory.test.ts` would see.
        return acceptChecked(
          workspace,
          definition,
          { batch: parsed([record]), count: 1, plan },
          body,
          () => Effect.void
        )
      }
    } as const
  }),
  dependencies: [
    Objects.Default,
    JobsRepo.Default,
    JobProcessor.Default,
    AcceptedRecords.Default,
    ServiceMetrics.Default,
    Admission.Default,
    AppendPreparation.Default
  ]
}) {}
