/**
 * The job workers (SPEC §1.5, §1.10): N fibers that claim and process queued jobs, woken at once when a batch is
 * accepted and otherwise polling; a periodic purge of expired idempotency keys and old jobs; and the signal of
 * terminal jobs that `Prefer: wait=N` waits on.
 *
 * On start, jobs left `processing` by a crash go back to the queue and idempotency keys left in progress are freed:
 * all of them on SQLite (a restarted single node has no request in flight), only those whose lease ran out on
 * PostgreSQL (other nodes are live); there, a dead node's jobs are also claimed by any worker once their lease runs
 * out. On scope close (SIGTERM) the workers stop claiming; a job being processed is interrupted, its transaction
 * rolls back and the job returns to `queued`.
 */
import { Job } from "@batchwrite/core"
import { type Cause, Duration, Effect, Layer, Option, PubSub, Queue, Ref } from "effect"
import { ServiceMetrics } from "../services/ServiceMetrics.js"
import { StorageHealth } from "../services/StorageHealth.js"
import { JobsRepo } from "../storage/JobsRepo.js"
import { isTransientFault, storageFaultOf } from "../storage/StorageFault.js"
import { Housekeeping, type HousekeepingOptions } from "./Housekeeping.js"
import { GroupCommit, isSmallGroup, JobProcessor, type ProcessResult } from "./JobProcessor.js"

/** Options of {@link JobWorkers.layer}. */
export interface JobWorkersOptions extends HousekeepingOptions {
  /** How many jobs are processed at once. */
  readonly workers: number
  /** How often an idle worker looks for jobs when no wake-up came (and how often waiters re-read a job). */
  readonly pollInterval: Duration.DurationInput
}

/** A job that reached a terminal state. */
export interface TerminalJob {
  readonly jobId: string
  readonly state: "completed" | "failed"
}

/** A job just accepted, as {@link JobWorkers} needs to know it to wake a worker. */
export interface AcceptedJob {
  readonly jobId: string
  /** Whether it waits for the earlier jobs of its object (an upsert, or an append to an object with match keys). */
  readonly ordered: boolean
}

const make = (options: JobWorkersOptions) =>
  Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const processor = yield* JobProcessor
    const serviceMetrics = yield* ServiceMetrics
    const storageHealth = yield* StorageHealth
    const pollInterval = Duration.decode(options.pollInterval)
    const workerCount = Math.max(1, Math.floor(options.workers))

    // One wake-up per accepted batch, at most one per worker waiting: more would only cause empty claims.
    // Neither is shut down on close: a late notifyAccepted or awaitTerminal must not be interrupted by it.
    const wakeUps = yield* Queue.dropping<void>(workerCount)
    const terminal = yield* PubSub.unbounded<TerminalJob>()
    const running = yield* Ref.make(false)

    const scope = yield* Effect.scope
    const wakeUp = Effect.asVoid(Queue.offer(wakeUps, undefined))

    const recordOutcome = (result: ProcessResult, state: "completed" | "failed") =>
      serviceMetrics.recordJob({
        state,
        insertedRows: result.metrics?.insertedRows ?? 0,
        updatedRows: result.metrics?.updatedRows ?? 0,
        staleRows: result.metrics?.staleRows ?? 0,
        invalidRows: result.metrics?.invalidRows ?? 0,
        latencySeconds: (result.latencyMillis ?? 0) / 1000
      })

    const idle = Effect.raceFirst(Queue.take(wakeUps), Effect.sleep(pollInterval))

    // better-sqlite3 and the processing are synchronous: between two jobs, give the event loop a turn (a timer, not
    // a microtask) so HTTP requests are served while a backlog drains.
    const yieldToEventLoop = Effect.sleep(Duration.zero)

    const publishTerminal = (result: ProcessResult) =>
      result.state === "completed" || result.state === "failed"
        ? Effect.zipRight(
            recordOutcome(result, result.state),
            PubSub.publish(terminal, { jobId: result.jobId, state: result.state })
          )
        : Effect.void

    const step = Effect.flatMap(
      processor.processNext,
      Option.match({
        onNone: () => idle,
        onSome: (results) =>
          Effect.zipRight(
            Effect.forEach(results, publishTerminal, { discard: true }),
            Effect.flatMap(GroupCommit, (settings) =>
              // A group whose storage failed backs off before claiming again; after a small one, more jobs may come.
              results.some((result) => result.state === "requeued")
                ? Effect.sleep(pollInterval)
                : isSmallGroup(results, settings)
                  ? Effect.sleep(settings.linger)
                  : yieldToEventLoop
            )
          )
      })
    )

    // A step fails only outside a group's processing (which answers its own faults): claiming, mostly. A claim is a
    // write, so a storage that takes none (a full disk, a lost or read-only database) fails every claim: that is
    // noted for `/readyz` and waited out as a group's fault is (`StorageHealth.waitOut`), with a warning, not
    // an error at every poll of every worker.
    const afterFailedStep = (cause: Cause.Cause<unknown>) =>
      Option.match(Option.filter(storageFaultOf(cause), isTransientFault), {
        onNone: () =>
          Effect.logError("job worker step failed", cause).pipe(Effect.zipRight(Effect.sleep(pollInterval))),
        onSome: (fault) =>
          Effect.logWarning("claiming jobs met a storage fault; the worker waits before claiming again", fault).pipe(
            Effect.zipRight(storageHealth.waitOut(fault))
          )
      })

    const worker = (id: number) =>
      step.pipe(Effect.catchAllCause(afterFailedStep), Effect.forever, Effect.annotateLogs("worker", id))

    for (let id = 0; id < workerCount; id++) yield* Effect.forkScoped(worker(id))
    yield* Ref.set(running, true)
    // Added last, so it runs first when the scope closes: readiness drops before the workers stop.
    yield* Effect.addFinalizer(() => Ref.set(running, false))

    const takeJob = (subscription: Queue.Dequeue<TerminalJob>, jobId: string): Effect.Effect<true> =>
      Effect.flatMap(Queue.take(subscription), (event) =>
        event.jobId === jobId ? Effect.succeed(true as const) : takeJob(subscription, jobId)
      )

    const awaitTerminal = (jobId: string, timeout: Duration.DurationInput): Effect.Effect<boolean> =>
      Effect.scoped(
        Effect.gen(function* () {
          // Subscribe before reading the state, so a job finishing in between is not missed.
          const subscription = yield* PubSub.subscribe(terminal)
          const isTerminal = Effect.map(jobs.state(jobId), Option.exists(Job.isTerminal))
          const wait: Effect.Effect<boolean> = Effect.flatMap(isTerminal, (done) =>
            done
              ? Effect.succeed(true)
              : // The event, or a re-read after pollInterval (another node may have processed the job).
                Effect.flatMap(
                  Effect.raceFirst(takeJob(subscription, jobId), Effect.as(Effect.sleep(pollInterval), false)),
                  (seen) => (seen ? Effect.succeed(true) : wait)
                )
          )
          return yield* Effect.timeoutTo(wait, { duration: timeout, onSuccess: (done) => done, onTimeout: () => false })
        })
      )

    return {
      /**
       * Wakes an idle worker for a job just accepted (call after the commit), unless it is an ordered job waiting
       * behind an earlier job of its object: the worker finishing that one claims again at once, and waking another
       * would only make it walk the object's queued jobs to claim nothing (with a backlog of small upserts, one such
       * empty claim per accepted batch slowed accepting by a quarter on PostgreSQL). Polling covers the rest. The
       * check runs apart from the caller, which does not wait for it; it is not made when every worker has a wake-up
       * waiting already (a busy node: one statement per accepted batch, for nothing).
       */
      notifyAccepted: (job: AcceptedJob): Effect.Effect<void> =>
        job.ordered
          ? Effect.flatMap(Queue.isFull(wakeUps), (full) =>
              full
                ? Effect.void
                : Effect.asVoid(
                    Effect.forkIn(
                      Effect.flatMap(jobs.waitsBehind(job.jobId), (waits) => (waits ? Effect.void : wakeUp)),
                      scope
                    )
                  )
            )
          : wakeUp,
      /** Counts and signals a job that reached its terminal state outside the workers (inline apply). */
      noteTerminal: publishTerminal,
      /**
       * Waits until the job is `completed` or `failed`, at most `timeout`: `true` when it is (already, or in time),
       * `false` otherwise (also for an unknown job).
       */
      awaitTerminal,
      /** Every job reaching a terminal state on this node, as it happens. */
      terminalJobs: PubSub.subscribe(terminal),
      /** Whether the workers run (for `/readyz`). */
      running: Ref.get(running)
    } as const
  })

/** The job workers, their wake-up signal and the terminal-job signal. */
export class JobWorkers extends Effect.Service<JobWorkers>()("server/JobWorkers", {
  scoped: make,
  dependencies: [JobsRepo.Default, JobProcessor.Default, ServiceMetrics.Default, StorageHealth.Default]
}) {
  /**
   * The workers as a scoped layer, after the node's housekeeping (recovery first): they start with the layer and
   * stop when its scope closes.
   */
  static readonly layer = (options: JobWorkersOptions) =>
    JobWorkers.Default(options).pipe(Layer.provideMerge(Housekeeping.Default(options)))
}
