/**
 * Per-token rate limits (SPEC §1.8): a token bucket per token, one request one token whatever its size, and the
 * IETF `RateLimit-Policy` / `RateLimit` headers for every response.
 */
import { Context, Effect, Layer } from "effect"
import { defaultRateLimit, type RateLimitSettings, ServerConfig } from "./ServerConfig.js"

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

/** Takes one request from the bucket at time `now` (ms); pure apart from updating the bucket. */
export const take = (bucket: Bucket, settings: RateLimitSettings, now: number): RateDecision => {
  const burst = burstOf(settings)
  const rate = settings.requestsPerSecond
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate)
  bucket.updatedAt = now
  const allowed = bucket.tokens >= 1
  if (allowed) bucket.tokens -= 1
  return {
    allowed,
    remaining: Math.floor(bucket.tokens),
    resetSeconds: Math.ceil((burst - bucket.tokens) / rate),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / rate)),
    settings
  }
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
  /** In-memory buckets (one node; the PostgreSQL issue shares them across nodes). */
  static readonly layer = Layer.effect(
    RateLimiter,
    Effect.map(ServerConfig, (config) => {
      const buckets = new Map<string, Bucket>()
      return {
        take: (tokenId, settings) =>
          Effect.sync(() => {
            const effective = settings ?? config.rateLimit ?? defaultRateLimit
            const now = Date.now()
            let bucket = buckets.get(tokenId)
            if (bucket === undefined) {
              bucket = { tokens: burstOf(effective), updatedAt: now }
              buckets.set(tokenId, bucket)
            }
            return take(bucket, effective, now)
          })
      }
    })
  )
}
