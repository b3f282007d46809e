/**
 * The `Authorization` middleware of the contract, implemented: the bearer token names a principal (401 when it does
 * not), the principal's bucket gives up one request (429 with `Retry-After` when empty), and the `RateLimit` headers
 * of that decision go on the response, whatever it turns out to be. Provides the `Caller` to the handlers; scopes
 * are checked per endpoint with {@link requireScope}.
 */
import { Authorization, Caller, Forbidden, RateLimited, type Scope, Unauthorized } from "@batchwrite/api"
import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { Tokens } from "../services/Auth.js"
import { RateLimiter, rateLimitHeaders } from "../services/RateLimit.js"

const unauthorized = new Unauthorized({ message: "missing or unknown token: send 'Authorization: Bearer <token>'" })

/** The middleware as a layer. */
export const AuthenticationLive = Layer.effect(
  Authorization,
  Effect.gen(function* () {
    const tokens = yield* Tokens
    const limiter = yield* RateLimiter
    return {
      // The platform hands over the text after "Bearer "; the header is read again here so that the scheme is
      // matched case-insensitively, as RFC 7235 has it.
      bearer: () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const principal = tokens.authenticate(request.headers.authorization)
          if (Option.isNone(principal)) return yield* Effect.fail(unauthorized)
          const decision = yield* limiter.take(principal.value.tokenId, principal.value.rateLimit)
          const headers = rateLimitHeaders(decision)
          yield* HttpApp.appendPreResponseHandler((_, response) =>
            Effect.succeed(HttpServerResponse.setHeaders(response, headers))
          )
          if (!decision.allowed) {
            return yield* Effect.fail(
              new RateLimited({
                message: `rate limit of this token exceeded; retry after ${decision.retryAfterSeconds} s`,
                retryAfter: decision.retryAfterSeconds
              })
            )
          }
          const { scopes, tokenId, workspace } = principal.value
          return { tokenId, workspace, scopes }
        })
    }
  })
)

/** The caller, when it has `scope`; else 403. */
export const requireScope = (scope: Scope): Effect.Effect<Caller["Type"], Forbidden, Caller> =>
  Effect.flatMap(Caller, (caller) =>
    caller.scopes.has(scope)
      ? Effect.succeed(caller)
      : Effect.fail(
          new Forbidden({ message: `this token lacks the '${scope}' scope`, details: { requiredScope: scope } })
        )
  )
