/**
 * Shared transactions (group commit of writes): writes submitted to a lane while another transaction of that lane is
 * committing wait for it, then commit together in ONE transaction, in the order they came. Each still succeeds or
 * fails on its own: when a shared transaction fails, its writes run again one by one, each in a transaction of its
 * own, so one bad write cannot fail the others.
 *
 * Why: accepting a batch is a small transaction, and on PostgreSQL each commit waits for its WAL flush (~1–6 ms here)
 * while it holds the workspace's `sequences` row, so a workspace's accepts went one flush at a time (under 200 a
 * second, whatever the number of clients). Sharing the transaction shares the flush and the lock.
 *
 * A write whose caller is interrupted before its transaction starts is dropped; once its transaction started, it
 * commits or fails as if the caller were still there (as a transaction of the caller's own would, once begun).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Deferred, Effect, Exit } from "effect"

/** How much one shared transaction may take. */
export interface SharedTransactionLimits {
  readonly writes: number
  /** The sizes (as submitted) of its writes, in all; a write larger than this still commits, alone. */
  readonly bytes: number
}

interface Write {
  readonly effect: Effect.Effect<unknown, unknown>
  readonly bytes: number
  readonly done: Deferred.Deferred<unknown, unknown>
  state: "waiting" | "taken" | "dropped"
}

interface Lane {
  readonly waiting: Array<Write>
  committing: boolean
}

/** Makes a group committer on the current `SqlClient`: `submit(lane, bytes, write)` answers `write`'s result. */
export const make = (limits: SharedTransactionLimits) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lanes = new Map<string, Lane>()

    const take = (lane: Lane): Array<Write> => {
      const taken: Array<Write> = []
      let bytes = 0
      while (lane.waiting.length > 0 && taken.length < limits.writes) {
        const next = lane.waiting[0]!
        if (next.state === "dropped") {
          lane.waiting.shift()
          continue
        }
        if (taken.length > 0 && bytes + next.bytes > limits.bytes) break
        lane.waiting.shift()
        next.state = "taken"
        bytes += next.bytes
        taken.push(next)
      }
      return taken
    }

    const alone = (write: Write) =>
      Effect.flatMap(Effect.exit(sql.withTransaction(write.effect)), (exit) => Deferred.done(write.done, exit))

    const commit = (writes: ReadonlyArray<Write>) =>
      Effect.flatMap(Effect.exit(sql.withTransaction(Effect.forEach(writes, (write) => write.effect))), (exit) =>
        Exit.isSuccess(exit)
          ? Effect.forEach(writes, (write, i) => Deferred.succeed(write.done, exit.value[i]), { discard: true })
          : writes.length === 1
            ? Deferred.failCause(writes[0]!.done, exit.cause)
            : Effect.forEach(writes, alone, { discard: true })
      )

    // Runs the lane's transactions until nobody waits; one such fiber per busy lane.
    const drain = (key: string, lane: Lane): Effect.Effect<void> =>
      Effect.suspend(() => {
        const writes = take(lane)
        if (writes.length === 0) {
          lane.committing = false
          lanes.delete(key)
          return Effect.void
        }
        return Effect.zipRight(commit(writes), drain(key, lane))
      })

    return <A, E, R>(key: string, bytes: number, write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.gen(function* () {
        const context = yield* Effect.context<R>()
        const done = yield* Deferred.make<unknown, unknown>()
        const entry: Write = { effect: Effect.provide(write, context), bytes, done, state: "waiting" }
        const lane = lanes.get(key) ?? { waiting: [], committing: false }
        lanes.set(key, lane)
        lane.waiting.push(entry)
        if (!lane.committing) {
          lane.committing = true
          yield* Effect.forkDaemon(Effect.uninterruptible(drain(key, lane)))
        }
        return yield* (Deferred.await(done) as Effect.Effect<A, E>).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              if (entry.state === "waiting") entry.state = "dropped"
            })
          )
        )
      })
  })
