/**
 * Per-token rate limits (SPEC §1.8): a token bucket per token, one request one token whatever its size, and the
 * IETF `RateLimit-Policy` / `RateLimit` headers for every response. On a single node the buckets live in memory; on
 * shared storage they are rows every node takes from atomically, so the limit is one budget for all nodes.
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
        ? {
            take: (tokenId: string, settings: RateLimitSettings | undefined) =>
              Effect.gen(function* () {
                const effective = settingsOf(settings)
                const taken = yield* buckets.take(tokenId, effective.requestsPerSecond, burstOf(effective), Date.now())
                return decision(taken.allowed, taken.tokens, effective)
              })
          }
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
