/**
 * Bearer authentication of every `/public/v1` route (SPEC §1.2), as an `HttpApiMiddleware` tag: the OpenAPI document
 * shows the `bearer` scheme on each secured operation, and a missing or unknown token is `Unauthorized` (401). The
 * server checks tokens itself; the client sends `Authorization: Bearer <token>` (see `HttpClientRequest.bearerToken`).
 */
import { HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import {
  ForbiddenEnvelope,
  InternalErrorEnvelope,
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

/** Bearer authentication of a group of routes; fails with `Unauthorized` (401). */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@batchwrite/api/Authorization", {
  failure: UnauthorizedEnvelope,
  security: { bearer }
}) {}

/**
 * A group of bearer-authenticated routes, declaring the errors any of its routes can answer: 403 (a scope is
 * missing), 404 `NOT_FOUND.ROUTE`, 429, 500 and 503. Add the endpoints, then `.prefix(basePath)` and
 * `.middleware(Authorization)` (both apply to the endpoints added before them).
 */
export const authenticatedGroup = <const Id extends string>(id: Id) =>
  HttpApiGroup.make(id)
    .addError(ForbiddenEnvelope)
    .addError(RouteNotFoundEnvelope)
    .addError(RateLimitedEnvelope)
    .addError(InternalErrorEnvelope)
    .addError(ServiceUnavailableEnvelope)
