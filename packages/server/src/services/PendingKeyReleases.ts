/**
 * Idempotency keys whose release failed (SPEC §1.7: a 5xx frees its key at once). A request that met a storage fault
 * also fails to release its key while the storage is down, and the key would answer `409` to every retry until its
 * lease (60 s) runs out. Such a key is remembered here: its release is retried in the background until it succeeds
 * (at most until its lease runs out, when the key is free anyway), and a retry reaching this node first frees it at
 * once (`releaseNow`), as this node knows the request holding it has ended. A release frees only the hold of the
 * request that ended (`KeyHold`): one retried late, after the key's lease ran out and another request took the key
 * over, leaves that request's hold alone.
 */
import { Duration, Effect, Fiber, Schedule } from "effect"
import { IdempotencyLease, IdempotencyRepo, type IdempotencyScope, type KeyHold } from "../storage/IdempotencyRepo.js"

/** How often a failed release is tried again: 0.1 s doubling, at most every 5 s. */
export const releaseRetryPolicy = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

const keyOf = (scope: IdempotencyScope) => JSON.stringify([scope.workspace, scope.method, scope.path, scope.key])

/** The keys of this node whose release is pending. */
export class PendingKeyReleases extends Effect.Service<PendingKeyReleases>()("server/PendingKeyReleases", {
  scoped: Effect.gen(function* () {
    const repo = yield* IdempotencyRepo
    const lease = yield* IdempotencyLease
    const scope = yield* Effect.scope
    const pending = new Map<string, { readonly hold: KeyHold; readonly retrying: Fiber.RuntimeFiber<void> }>()

    const retryInBackground = (key: IdempotencyScope, hold: KeyHold) =>
      Effect.gen(function* () {
        const forget = Effect.sync(() => {
          if (pending.get(keyOf(key))?.hold === hold) pending.delete(keyOf(key))
        })
        const retries = repo
          .release(key, hold)
          .pipe(
            Effect.sandbox,
            Effect.retry(releaseRetryPolicy),
            Effect.timeout(Duration.decode(lease)),
            Effect.ignore,
            Effect.ensuring(forget)
          )
        // Forked interruptible: the request's release runs where interruption is masked.
        pending.set(keyOf(key), { hold, retrying: yield* Effect.forkIn(Effect.interruptible(retries), scope) })
      })

    return {
      /**
       * Releases the key of a request that has ended; when that fails, remembers it and retries in the background
       * until it is released or its lease has run out.
       */
      release: (key: IdempotencyScope, hold: KeyHold): Effect.Effect<void> =>
        repo.release(key, hold).pipe(Effect.catchAllCause(() => retryInBackground(key, hold))),

      /**
       * Frees the key at once if this node's request holding it has ended and its release is still pending: `true`
       * when it did (the caller may take the key), `false` when no release of it is pending here. When the release
       * fails again (storage still down) it stays pending, and the failure is the caller's.
       */
      releaseNow: (key: IdempotencyScope): Effect.Effect<boolean> =>
        Effect.gen(function* () {
          const release = pending.get(keyOf(key))
          if (release === undefined) return false
          yield* Fiber.interrupt(release.retrying)
          pending.delete(keyOf(key))
          yield* repo.release(key, release.hold).pipe(Effect.onError(() => retryInBackground(key, release.hold)))
          return true
        })
    } as const
  }),
  dependencies: [IdempotencyRepo.Default]
}) {}
