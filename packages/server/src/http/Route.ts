/**
 * The steps every `/public/v1` route shares: authenticate the bearer token (401), check the scope (403), take one
 * request from the token's bucket (429), run the handler, and answer in the SPEC envelopes with the rate-limit
 * headers on every response.
 */
import { ErrorCode } from "@batchwrite/core"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { CurrentPrincipal, type Principal, Tokens } from "../Auth.js"
import { RateLimiter, rateLimitHeaders } from "../RateLimit.js"
import type { Scope } from "../ServerConfig.js"
import { ApiFailure, forbidden } from "./ApiFailure.js"
import { failure, type TextResponse, toHttp } from "./Responses.js"

/** What a handler gives back: an enveloped text response, or a response of its own (NDJSON streams). */
export type RouteResult = TextResponse | HttpServerResponse.HttpServerResponse

const isTextResponse = (result: RouteResult): result is TextResponse =>
  "body" in result && typeof result.body === "string"

const unauthorized = new ApiFailure({
  status: 401,
  code: ErrorCode.Unauthorized,
  message: "missing or unknown token: send 'Authorization: Bearer <token>'"
})

/** Requires a scope of the current principal. */
export const requireScope = (principal: Principal, scope: Scope): Effect.Effect<void, ApiFailure> =>
  principal.scopes.has(scope) ? Effect.void : Effect.fail(forbidden(scope))

/** Wraps a handler that needs `scope` into a full route: auth, limits, envelopes. */
export const authorized =
  (scope: Scope | "any") =>
  <R>(handler: Effect.Effect<RouteResult, ApiFailure, R | CurrentPrincipal>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const tokens = yield* Tokens
      const principal = tokens.authenticate(request.headers.authorization)
      if (principal._tag === "None") return toHttp(failure(unauthorized))
      const decision = yield* (yield* RateLimiter).take(principal.value.tokenId, principal.value.rateLimit)
      const limitHeaders = rateLimitHeaders(decision)
      if (!decision.allowed) {
        const refused = new ApiFailure({
          status: 429,
          code: ErrorCode.RateLimited,
          message: `rate limit of this token exceeded; retry after ${decision.retryAfterSeconds} s`,
          details: { retryAfter: decision.retryAfterSeconds },
          headers: { "retry-after": String(decision.retryAfterSeconds) }
        })
        return toHttp(failure(refused), limitHeaders)
      }
      const result = yield* (
        scope === "any" ? handler : Effect.zipRight(requireScope(principal.value, scope), handler)
      ).pipe(
        Effect.provideService(CurrentPrincipal, principal.value),
        Effect.catchAll((error) => Effect.succeed<RouteResult>(failure(error)))
      )
      return isTextResponse(result) ? toHttp(result, limitHeaders) : HttpServerResponse.setHeaders(result, limitHeaders)
    })
