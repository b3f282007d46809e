/**
 * The node's housekeeping of the stored work: recovery when it starts, and a periodic purge.
 *
 * On start, jobs left `processing` by a crash go back to the queue and idempotency keys left in progress are freed:
 * all of them on a single node (a restarted single node has no request in flight), only those whose lease ran out on
 * shared storage (other nodes are live). It runs before the job workers start, so none of them is working on a job
 * it would requeue. Then, every `purgeInterval`, expired idempotency keys and terminal jobs older than
 * `jobRetention` (with their row errors) are deleted.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import { IdempotencyRepo } from "../storage/IdempotencyRepo.js"
import { JobsRepo } from "../storage/JobsRepo.js"

/** Options of {@link Housekeeping}. */
export interface HousekeepingOptions {
  /** How often expired idempotency keys and old jobs are deleted; default every hour. */
  readonly purgeInterval?: Duration.DurationInput | undefined
  /** How long terminal jobs and their row errors are kept; default 7 days (SPEC §1.6). */
  readonly jobRetention?: Duration.DurationInput | undefined
}

/** How long terminal jobs are kept by default (SPEC §1.6: at least 7 days). */
export const defaultJobRetention: Duration.Duration = Duration.days(7)

/** How often the purge runs by default. */
export const defaultPurgeInterval: Duration.Duration = Duration.hours(1)

const make = (options: HousekeepingOptions) =>
  Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const idempotency = yield* IdempotencyRepo
    const retentionMillis = Duration.toMillis(options.jobRetention ?? defaultJobRetention)

    const requeued = yield* jobs.recoverInterrupted()
    const released = yield* idempotency.releaseAbandoned()
    if (requeued + released > 0) {
      yield* Effect.logInfo("recovered after a restart").pipe(
        Effect.annotateLogs({ jobsRequeued: requeued, idempotencyKeysReleased: released })
      )
    }

    const purge = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const keys = yield* idempotency.purgeExpired()
      const purged = yield* jobs.purgeOlderThan(new Date(now - retentionMillis))
      if (keys + purged > 0) {
        yield* Effect.logInfo("purged").pipe(Effect.annotateLogs({ idempotencyKeys: keys, jobs: purged }))
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logError("purge failed", cause)))

    yield* Effect.forkScoped(Effect.repeat(purge, Schedule.spaced(options.purgeInterval ?? defaultPurgeInterval)))
    return {} as const
  })

/** Recovery on start and the periodic purge, running while the layer's scope is open. */
export class Housekeeping extends Effect.Service<Housekeeping>()("server/Housekeeping", {
  scoped: make,
  dependencies: [JobsRepo.Default, IdempotencyRepo.Default]
}) {}
