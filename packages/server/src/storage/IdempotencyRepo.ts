/**
 * The idempotency store (SPEC §1.7): per workspace, method, path and `Idempotency-Key`, the fingerprint of the
 * first request's body and, once answered, its response as sent (status, headers, exact body text) for a byte-for-byte
 * replay. A key lives 24 hours from its first use. While the first request is being handled its row is
 * `in_progress` with a lease (`locked_until`); a lease that ran out belongs to a request that died, and the key is
 * free again.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Duration, Effect } from "effect"
import { Topology } from "./Topology.js"

/** Where an idempotency key applies: one workspace, one method, one path. */
export interface IdempotencyScope {
  readonly workspace: string
  readonly method: string
  readonly path: string
  readonly key: string
}

/** A response as sent, stored for replay. */
export interface StoredResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * What to do with a request carrying a key: handle it (`Fresh`, the key is now held by this request), send the
 * stored response (`Replay`), refuse a different body under the same key (`Mismatch`) or a key still in flight
 * (`InProgress`).
 */
export type Begin =
  | { readonly _tag: "Fresh"; readonly hold: KeyHold }
  | { readonly _tag: "Replay"; readonly response: StoredResponse }
  | { readonly _tag: "Mismatch" }
  | { readonly _tag: "InProgress"; readonly retryAfterSeconds: number }

/**
 * Which request holds a key: when it took it (epoch ms, the row's `created_at`, set by every `begin` that takes the
 * key). A release names the hold it frees, so a release that comes late — retried in the background while the
 * storage was down, after the key's lease ran out and another request took it over — frees nothing of that other
 * request's hold.
 */
export type KeyHold = number

/** How long a key is remembered from its first use (SPEC §1.7). */
export const keyTtl: Duration.Duration = Duration.hours(24)

/**
 * How long a request may hold its key before it counts as dead and the key is free again. A request holds its key
 * from `begin` until `complete` (the 202 path completes inside the accept transaction, before any `Prefer: wait`).
 */
export const leaseTtl: Duration.Duration = Duration.seconds(60)

/**
 * The lease of an idempotency key in progress ({@link leaseTtl} by default): with several nodes, how long the keys
 * of requests in flight on a node that died keep answering `409` before a retry can take them.
 */
export class IdempotencyLease extends Context.Reference<IdempotencyLease>()("server/IdempotencyLease", {
  defaultValue: (): Duration.Duration => leaseTtl
}) {}

/** The `Retry-After` answered while a key is in flight: requests are short, so soon. */
export const inProgressRetryAfterSeconds = 1

interface KeyRow {
  readonly fingerprint: string
  readonly state: "in_progress" | "done"
  readonly status: number | null
  readonly headers: string | null
  readonly body: string | null
  readonly expires_at: number
  readonly locked_until: number | null
}

/** The idempotency store. Every method may run inside a caller's transaction and then commits with it. */
export class IdempotencyRepo extends Effect.Service<IdempotencyRepo>()("server/IdempotencyRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const topology = yield* Topology
    const ttlMillis = Duration.toMillis(keyTtl)
    const leaseMillis = Duration.toMillis(yield* IdempotencyLease)

    const where = (scope: IdempotencyScope) =>
      sql`workspace = ${scope.workspace} AND method = ${scope.method} AND path = ${scope.path} AND key = ${scope.key}`

    const complete = (scope: IdempotencyScope, response: StoredResponse, onlyInProgress: boolean) =>
      sql<{ readonly key: string }>`UPDATE idempotency_keys SET state = 'done', status = ${response.status},
        headers = ${JSON.stringify(response.headers)}, body = ${response.body}, locked_until = NULL
        WHERE ${where(scope)} ${onlyInProgress ? sql`AND state = 'in_progress'` : sql``} RETURNING key`

    // The row of a key is locked while a request decides about it, so concurrent requests with one key (on any
    // node) take turns; SQLite has one writer anyway.
    const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })

    const begin = (scope: IdempotencyScope, fingerprint: string): Effect.Effect<Begin, SqlError> =>
      Effect.flatMap(
        sql.withTransaction(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const held = {
              fingerprint,
              state: "in_progress",
              expires_at: now + ttlMillis,
              locked_until: now + leaseMillis
            }
            // A key never used: taken at once. A concurrent first use of the same key waits here for the other
            // transaction and then finds the key taken.
            const inserted = yield* sql<{ readonly key: string }>`INSERT INTO idempotency_keys ${sql.insert({
              workspace: scope.workspace,
              method: scope.method,
              path: scope.path,
              key: scope.key,
              created_at: now,
              ...held
            })} ON CONFLICT (workspace, method, path, key) DO NOTHING RETURNING key`
            if (inserted.length > 0) return { _tag: "Fresh", hold: now } as const
            const rows = yield* sql<KeyRow>`SELECT fingerprint, state, status, headers, body, expires_at,
              locked_until FROM idempotency_keys WHERE ${where(scope)} ${forUpdate}`
            const row = rows[0]
            // Deleted since the insert was refused (released, purged): look again.
            if (row === undefined) return undefined
            const free =
              Number(row.expires_at) <= now || (row.state === "in_progress" && Number(row.locked_until ?? 0) <= now)
            if (free) {
              yield* sql`UPDATE idempotency_keys SET fingerprint = ${fingerprint}, state = 'in_progress',
                status = NULL, headers = NULL, body = NULL, created_at = ${now}, expires_at = ${held.expires_at},
                locked_until = ${held.locked_until} WHERE ${where(scope)}`
              return { _tag: "Fresh", hold: now } as const
            }
            if (row.fingerprint !== fingerprint) return { _tag: "Mismatch" } as const
            if (row.state === "in_progress") {
              return { _tag: "InProgress", retryAfterSeconds: inProgressRetryAfterSeconds } as const
            }
            const response: StoredResponse = {
              status: Number(row.status),
              headers: JSON.parse(row.headers ?? "{}") as Record<string, string>,
              body: row.body ?? ""
            }
            return { _tag: "Replay", response } as const
          })
        ),
        (decided): Effect.Effect<Begin, SqlError> =>
          decided === undefined ? begin(scope, fingerprint) : Effect.succeed(decided)
      )

    return {
      /**
       * Looks the key up and, when it is free (never used, expired, or held by a request whose lease ran out),
       * takes it for this request: `Fresh`. One transaction.
       */
      begin: (scope: IdempotencyScope, fingerprint: string): Effect.Effect<Begin> =>
        Effect.orDie(begin(scope, fingerprint)),

      /**
       * Stores the response of the request holding the key, for replay until the key expires. The caller decides
       * what may be stored (SPEC §1.7: never a 429 or a 5xx; `release` those).
       */
      complete: (scope: IdempotencyScope, response: StoredResponse): Effect.Effect<void> =>
        Effect.orDie(Effect.asVoid(complete(scope, response, false))),

      /**
       * Completes the key only while a request holds it (`in_progress`); `false`, changing nothing, when it was
       * released, taken over after its lease ran out and completed, or expired and purged. For a transaction that
       * stores the request's effect together with its answer (a batch's job and its 202), which must not commit when
       * the request no longer holds its key.
       */
      completeHeld: (scope: IdempotencyScope, response: StoredResponse): Effect.Effect<boolean> =>
        Effect.orDie(Effect.map(complete(scope, response, true), (rows) => rows.length > 0)),

      /**
       * Frees a key still in progress under `hold` (its request answered 429 or 5xx, or died), so a retry can
       * succeed; a key completed, or held by another request since, is left as it is.
       */
      release: (scope: IdempotencyScope, hold: KeyHold): Effect.Effect<void> =>
        Effect.orDie(
          Effect.asVoid(
            sql`DELETE FROM idempotency_keys WHERE ${where(scope)} AND state = 'in_progress' AND created_at = ${hold}`
          )
        ),

      /** Deletes the keys past their 24 hours; answers how many. */
      purgeExpired: (): Effect.Effect<number> =>
        Effect.orDie(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const deleted = yield* sql<{ readonly key: string }>`DELETE FROM idempotency_keys
              WHERE expires_at <= ${now} RETURNING key`
            return deleted.length
          })
        ),

      /**
       * For a node that starts: frees the keys left in progress by requests that died; answers how many. On a single
       * node every key in progress, as no request of a previous run is still in flight; on shared storage only
       * those whose lease ran out, as the others belong to requests in flight on live nodes.
       */
      releaseAbandoned: (): Effect.Effect<number> =>
        Effect.orDie(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const abandoned =
              topology === "single-node"
                ? sql`state = 'in_progress'`
                : sql`state = 'in_progress' AND locked_until <= ${now}`
            const deleted = yield* sql<{ readonly key: string }>`DELETE FROM idempotency_keys WHERE ${abandoned}
              RETURNING key`
            return deleted.length
          })
        )
    } as const
  })
}) {}
