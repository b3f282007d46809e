/**
 * Per-token rate limits (SPEC §1.8): a token bucket per token, one request one token whatever its size, and the
 * IETF `RateLimit-Policy` / `RateLimit` headers for every response. On a single node the buckets live in memory; on
 * shared storage they are rows every node takes from atomically, so the limit is one budget for all nodes.
 *
 * On shared storage a node takes a token's budget in slices ({@link sliceOf}: 50 ms of its rate, at most a tenth of
 * its burst, 1 for slow limits) and spends each slice locally within {@link sliceLifetimeMillis}: one take from the
 * database per slice instead of one per request (each take is a transaction that holds the token's row, so every
 * request of a token waited in one line for it). No request is ever allowed beyond the shared budget; what a node
 * took and did not spend in time is dropped, so near the limit another node may refuse a request for that long.
 */
import { Context, Effect, Layer } from "effect"
import { RateBucketsRepo } from "../storage/RateBucketsRepo.js"
import { Topology } from "../storage/Topology.js"
import { defaultRateLimit, type RateLimitSettings, ServerConfig } from "../ServerConfig.js"

/** The outcome of taking one request from a bucket. */
export interface RateDecision {
  readonly allowed: boolean
  /** Whole requests left in the bucket after this one. */
  readonly remaining: number
  /** Seconds until the bucket is full again (the `t` of `RateLimit`). */
  readonly resetSeconds: number
  /** When refused: seconds until one request fits (`Retry-After`, at least 1). */
  readonly retryAfterSeconds: number
  readonly settings: RateLimitSettings
}

interface Bucket {
  tokens: number
  updatedAt: number
}

const burstOf = (settings: RateLimitSettings): number =>
  settings.burst ?? Math.max(1, Math.ceil(settings.requestsPerSecond))

/** The tokens a node takes from a shared bucket at once: 50 ms of the rate, at most a tenth of the burst, at least 1. */
export const sliceOf = (settings: RateLimitSettings): number =>
  Math.max(1, Math.min(Math.floor(burstOf(settings) / 10), Math.floor(settings.requestsPerSecond / 20)))

/** How long a node may spend the rest of a slice it took. */
export const sliceLifetimeMillis = 1_000

/** The rest of a slice a node took from a shared bucket. */
interface Slice {
  tokens: number
  /** The shared bucket's tokens after the take, for the headers. */
  readonly shared: number
  readonly until: number
}

/** The decision for a bucket holding `tokens` after a take that was `allowed` or not. */
const decision = (allowed: boolean, tokens: number, settings: RateLimitSettings): RateDecision => {
  const rate = settings.requestsPerSecond
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.max(0, Math.ceil((burstOf(settings) - tokens) / rate)),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / rate)),
    settings
  }
}

/** Takes one request from the bucket at time `now` (ms); pure apart from updating the bucket. */
export const take = (bucket: Bucket, settings: RateLimitSettings, now: number): RateDecision => {
  const burst = burstOf(settings)
  const rate = settings.requestsPerSecond
  bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * rate)
  bucket.updatedAt = Math.max(bucket.updatedAt, now)
  const allowed = bucket.tokens >= 1
  if (allowed) bucket.tokens -= 1
  return decision(allowed, bucket.tokens, settings)
}

/** The `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers) of a decision. */
export const rateLimitHeaders = (decision: RateDecision): Record<string, string> => ({
  "ratelimit-policy": `"token";q=${burstOf(decision.settings)};w=${Math.max(1, Math.round(burstOf(decision.settings) / decision.settings.requestsPerSecond))}`,
  ratelimit: `"token";r=${decision.remaining};t=${decision.resetSeconds}`
})

/**
 * The shared buckets as one node spends them: from the rest of its slice when it holds one, else from a new slice
 * taken from storage. One take per token at a time: requests that find the slice spent wait for that take instead
 * of each taking a slice.
 */
const sharedBuckets = (
  buckets: RateBucketsRepo,
  settingsOf: (settings: RateLimitSettings | undefined) => RateLimitSettings
) =>
  Effect.sync(() => {
    const slices = new Map<string, Slice>()
    const takes = new Map<string, Effect.Semaphore>()
    const fromSlice = (tokenId: string, settings: RateLimitSettings): RateDecision | undefined => {
      const slice = slices.get(tokenId)
      if (slice === undefined || slice.tokens < 1 || Date.now() >= slice.until) return undefined
      slice.tokens -= 1
      return decision(true, slice.shared + slice.tokens, settings)
    }
    const fromStorage = (tokenId: string, settings: RateLimitSettings) =>
      Effect.gen(function* () {
        const now = Date.now()
        const taken = yield* buckets.take(
          tokenId,
          settings.requestsPerSecond,
          burstOf(settings),
          now,
          sliceOf(settings)
        )
        if (taken.taken < 1) {
          slices.delete(tokenId)
          return decision(false, taken.tokens, settings)
        }
        slices.set(tokenId, { tokens: taken.taken - 1, shared: taken.tokens, until: now + sliceLifetimeMillis })
        return decision(true, taken.tokens + taken.taken - 1, settings)
      })
    const takeOf = (tokenId: string) => {
      let semaphore = takes.get(tokenId)
      if (semaphore === undefined) {
        semaphore = Effect.unsafeMakeSemaphore(1)
        takes.set(tokenId, semaphore)
      }
      return semaphore
    }
    return {
      take: (tokenId: string, settings: RateLimitSettings | undefined) =>
        Effect.suspend(() => {
          const effective = settingsOf(settings)
          const local = fromSlice(tokenId, effective)
          if (local !== undefined) return Effect.succeed(local)
          return takeOf(tokenId).withPermits(1)(
            Effect.suspend(() => {
              const after = fromSlice(tokenId, effective)
              return after !== undefined ? Effect.succeed(after) : fromStorage(tokenId, effective)
            })
          )
        })
    }
  })

/** The buckets of this node, by token id. */
export class RateLimiter extends Context.Tag("server/RateLimiter")<
  RateLimiter,
  { readonly take: (tokenId: string, settings: RateLimitSettings | undefined) => Effect.Effect<RateDecision> }
>() {
  /** The buckets of the storage: in memory on a single node, rows every node shares on shared storage. */
  static readonly layer = Layer.effect(
    RateLimiter,
    Effect.gen(function* () {
      const config = yield* ServerConfig
      const topology = yield* Topology
      const buckets = yield* RateBucketsRepo
      const settingsOf = (settings: RateLimitSettings | undefined) => settings ?? config.rateLimit ?? defaultRateLimit
      const memory = new Map<string, Bucket>()
      return topology === "shared-storage"
        ? yield* sharedBuckets(buckets, settingsOf)
        : {
            take: (tokenId: string, settings: RateLimitSettings | undefined) =>
              Effect.sync(() => {
                const effective = settingsOf(settings)
                const now = Date.now()
                let bucket = memory.get(tokenId)
                if (bucket === undefined) {
                  bucket = { tokens: burstOf(effective), updatedAt: now }
                  memory.set(tokenId, bucket)
                }
                return take(bucket, effective, now)
              })
          }
    })
  ).pipe(Layer.provide(RateBucketsRepo.Default))
}
