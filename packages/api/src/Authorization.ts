/**
 * Bearer authentication of every `/public/v1` route (SPEC §1.2), as an `HttpApiMiddleware` tag: the OpenAPI document
 * shows the `bearer` scheme on each secured operation; a missing or unknown token is `Unauthorized` (401) and a token
 * over its rate limit `RateLimited` (429). The server implements it (checking the token, taking one request from the
 * token's bucket) and provides the {@link Caller} to its handlers; the client sends `Authorization: Bearer <token>`
 * (see `HttpClientRequest.bearerToken`).
 */
import { HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, Schema } from "effect"
import {
  ForbiddenEnvelope,
  InternalErrorEnvelope,
  MethodNotAllowedEnvelope,
  RateLimitedEnvelope,
  RouteNotFoundEnvelope,
  ServiceUnavailableEnvelope,
  UnauthorizedEnvelope
} from "./ApiErrors.js"

/** The bearer scheme: a token of one workspace, with scopes `records:write`, `records:read`, `admin`. */
export const bearer = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "`Authorization: Bearer <token>`. A token belongs to one workspace and has scopes (`records:write`, " +
      "`records:read`, `admin`). Missing or unknown token: 401 with `WWW-Authenticate: Bearer`; missing scope: 403."
  )
)

/** A scope a token may have. */
export type Scope = "records:write" | "records:read" | "admin"

/** Who sends the request, as authentication found it: the token's workspace and scopes. */
export interface CallerInfo {
  /** Names the token without revealing it (a prefix of its hash), for logs and rate-limit buckets. */
  readonly tokenId: string
  readonly workspace: string
  readonly scopes: ReadonlySet<Scope>
}

/** The caller of the current request: what {@link Authorization} provides to the handlers of a secured route. */
export class Caller extends Context.Tag("@batchwrite/api/Caller")<Caller, CallerInfo>() {}

/**
 * Bearer authentication and rate limiting of a group of routes; fails with `Unauthorized` (401) or `RateLimited`
 * (429), and provides the {@link Caller}.
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@batchwrite/api/Authorization", {
  failure: Schema.Union(UnauthorizedEnvelope, RateLimitedEnvelope),
  provides: Caller,
  security: { bearer }
}) {}

/**
 * A group of bearer-authenticated routes, declaring the errors any of its routes can answer: 403 (a scope is
 * missing), 404 `NOT_FOUND.ROUTE`, 405, 429, 500 and 503. Add the endpoints, then `.prefix(basePath)` and
 * `.middleware(Authorization)` (both apply to the endpoints added before them).
 */
export const authenticatedGroup = <const Id extends string>(id: Id) =>
  HttpApiGroup.make(id)
    .addError(ForbiddenEnvelope)
    .addError(RouteNotFoundEnvelope)
    .addError(MethodNotAllowedEnvelope)
    .addError(RateLimitedEnvelope)
    .addError(InternalErrorEnvelope)
    .addError(ServiceUnavailableEnvelope)
