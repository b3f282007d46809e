/**
 * Token buckets shared by every node of one PostgreSQL database (SPEC §1.8: "the limit holds across all nodes
 * together"): one row per token, refilled and taken from in ONE atomic statement, so concurrent requests on any
 * nodes never spend the same token twice.
 *
 * The take commits without waiting for its WAL flush (`synchronous_commit = off` for its transaction only): the
 * bucket row stays locked until the commit, so waiting for the flush (1–6 ms here) put every request of a token in a
 * line, one flush each (under 200 requests a second per token, whatever the nodes and clients). A crash may forget
 * the last fraction of a second of takes, which only gives those tokens back; nothing else relaxes its durability.
 *
 * A take may take several tokens at once (a node's slice, `services/RateLimit.ts`): as many as asked when the bucket
 * holds them, else every whole token left.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** A bucket after a take: the whole tokens taken (0 when refused) and the tokens left (fractional). */
export interface BucketTake {
  readonly taken: number
  readonly tokens: number
}

/** The shared token buckets. */
export class RateBucketsRepo extends Effect.Service<RateBucketsRepo>()("server/RateBucketsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const double = (value: number) => sql`CAST(${value} AS DOUBLE PRECISION)`

    return {
      /**
       * Refills the bucket of `tokenId` for the time since its last update (at `rate` tokens/s, up to `burst`) and
       * takes `wanted` tokens (at most `burst`), or every whole token there when fewer, atomically. A new bucket
       * starts full.
       */
      take: (tokenId: string, rate: number, burst: number, now: number, wanted = 1): Effect.Effect<BucketTake> =>
        Effect.orDie(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`SET LOCAL synchronous_commit = off`
              const refilled = sql`LEAST(${double(burst)}, rate_buckets.tokens
              + GREATEST(0, ${now} - rate_buckets.updated_at) / 1000.0 * ${double(rate)})`
              const slice = sql`LEAST(${double(wanted)}, FLOOR(${refilled}))`
              const taken = yield* sql<{
                readonly tokens: number
                readonly taken: number
              }>`INSERT INTO rate_buckets (token_id, tokens, updated_at, taken)
              VALUES (${tokenId}, ${double(burst - wanted)}, ${now}, ${double(wanted)})
              ON CONFLICT (token_id) DO UPDATE SET tokens = ${refilled} - ${slice}, taken = ${slice},
                updated_at = GREATEST(rate_buckets.updated_at, ${now})
              WHERE ${refilled} >= 1
              RETURNING tokens, taken`
              if (taken.length > 0) return { taken: Number(taken[0]!.taken), tokens: Number(taken[0]!.tokens) }
              // Refused: nothing changed; read what the bucket holds now for the headers.
              const rows = yield* sql<{ readonly tokens: number }>`SELECT ${refilled} AS tokens FROM rate_buckets
              WHERE token_id = ${tokenId}`
              return { taken: 0, tokens: Number(rows[0]?.tokens ?? 0) }
            })
          )
        )
    } as const
  })
}) {}
