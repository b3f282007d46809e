/**
 * The edge of the HTTP application, around every route of the contract: a path the service does not read (a `;`
 * parameter, a character names never hold, bad percent-encoding) answers `400` and a wrong method `405` with `Allow`,
 * before any route runs; every failure becomes its SPEC error envelope here, and only here (api errors with their
 * status and headers, requests that do not decode as `400`, unknown paths as `404 NOT_FOUND.ROUTE`, a failing
 * database as `503` with `Retry-After` (noted in the `StorageHealth` that `/readyz` reads), other defects as a `500` whose cause is logged, never sent); and each request is counted in the metrics by its route template and,
 * when asked, logged in one line (method, path, status, records, ms; never a token or a query string).
 */
import {
  type ApiError,
  errorEnvelopes,
  InternalError,
  MethodNotAllowed,
  RequestInvalid,
  RouteNotFound,
  ServiceUnavailable
} from "@batchwrite/api"
import {
  HttpApiBuilder,
  HttpApiError,
  type HttpApp,
  HttpServerRequest,
  type HttpServerResponse
} from "@effect/platform"
import { RouteNotFound as RouterRouteNotFound } from "@effect/platform/HttpServerError"
import { Cause, Console, Effect, Option } from "effect"
import { ServiceMetrics } from "../services/ServiceMetrics.js"
import { StorageHealth } from "../services/StorageHealth.js"
import { storageFaultOf } from "../storage/StorageFault.js"
import { fromDecodeError } from "./ErrorMapping.js"
import { recordsOf } from "./RequestRecords.js"
import { failure, toHttp } from "./Responses.js"
import { allowedMethods, labelOf, matchRoute, pathOf, pathProblem, type Route } from "./RouteTable.js"

const apiErrorTags: ReadonlySet<string> = new Set(errorEnvelopes.map((schema) => schema.tag))

const isApiError = (error: unknown): error is ApiError =>
  typeof error === "object" && error !== null && apiErrorTags.has((error as { _tag?: unknown })._tag as string)

/** The response of an api error; a 413 also closes the connection, as the rest of the body is not read. */
const errorResponse = (error: ApiError) =>
  toHttp(failure(error, error._tag === "PayloadTooLarge" ? { connection: "close" } : {}))

const routeNotFound = (request: HttpServerRequest.HttpServerRequest, path: string) =>
  new RouteNotFound({
    message: `no route ${request.method} ${path}; the API lives under /public/v1 (see /docs)`
  })

/** How soon a request refused because storage failed may be sent again. */
const storageRetryAfterSeconds = 1

const storageUnavailable = new ServiceUnavailable({
  message: `storage is unavailable; the request was not applied: send it again after ${storageRetryAfterSeconds} s`
})

/** The response of a request that failed. */
const answerFailure = (
  request: HttpServerRequest.HttpServerRequest,
  path: string,
  cause: Cause.Cause<unknown>,
  storageHealth: StorageHealth
) => {
  const failed = Cause.failureOption(cause)
  if (Option.isSome(failed)) {
    const error = failed.value
    // Before `isApiError`: the router's error has the `_tag` of the api's `RouteNotFound`, not its message.
    if (error instanceof RouterRouteNotFound) return Effect.succeed(errorResponse(routeNotFound(request, path)))
    if (isApiError(error)) return Effect.succeed(errorResponse(error))
    if (error instanceof HttpApiError.HttpApiDecodeError) return Effect.succeed(errorResponse(fromDecodeError(error)))
  }
  // The client went away: nothing to answer.
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
  const fault = storageFaultOf(cause)
  if (Option.isSome(fault)) {
    return Effect.zipRight(
      Effect.zipRight(
        storageHealth.noteFault(fault.value),
        Effect.logWarning("storage unavailable", Cause.pretty(cause))
      ),
      Effect.succeed(toHttp(failure(storageUnavailable, { "retry-after": String(storageRetryAfterSeconds) })))
    )
  }
  return Effect.zipRight(
    Effect.logError("request failed", Cause.pretty(cause)),
    Effect.succeed(errorResponse(new InternalError({ message: "internal error; the request was not applied" })))
  )
}

/** A request whose path is a route, with a method the route does not have: 405 with `Allow`. */
const wrongMethod = (request: HttpServerRequest.HttpServerRequest, path: string, route: Route | undefined) => {
  const allowed = allowedMethods(route)
  if (allowed.length === 0 || allowed.includes(request.method)) return Option.none()
  const error = new MethodNotAllowed({
    message: `${request.method} is not a method of ${path}; use ${allowed.join(", ")}`,
    details: { allow: allowed }
  })
  return Option.some(toHttp(failure(error, { allow: allowed.join(", ") })))
}

/** A request whose path is not one the service reads (a `;` parameter, bad percent-encoding): 400. */
const invalidPath = (path: string) =>
  Option.map(pathProblem(path), (problem) => errorResponse(new RequestInvalid({ message: problem })))

/** The answer the edge gives without running a route: a path it does not read, or a method the route lacks. */
const refused = (request: HttpServerRequest.HttpServerRequest, path: string, route: Route | undefined) =>
  Option.orElse(invalidPath(path), () => wrongMethod(request, path, route))

const middleware =
  (log: false | "text" | "json", metrics: ServiceMetrics, storageHealth: StorageHealth) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = performance.now()
      const path = pathOf(request)
      const route = matchRoute(path)
      const response: HttpServerResponse.HttpServerResponse = yield* Option.match(refused(request, path, route), {
        onSome: Effect.succeed,
        onNone: () => app.pipe(Effect.catchAllCause((cause) => answerFailure(request, path, cause, storageHealth)))
      })
      yield* metrics.recordRequest(request.method, labelOf(route), response.status)
      if (log !== false) {
        const ms = (performance.now() - started).toFixed(1)
        const { method } = request
        const { status } = response
        const count = recordsOf(request)
        yield* Console.log(
          log === "json"
            ? JSON.stringify({
                time: new Date().toISOString(),
                method,
                path,
                status,
                records: count ?? null,
                ms: Number(ms)
              })
            : `${method} ${path} ${status} records=${count ?? "-"} ${ms}ms`
        )
      }
      return response
    }) as HttpApp.Default

/** The edge around the contract's routes (see the module comment), as the api's middleware. */
export const edgeLayer = (log: false | "text" | "json") =>
  HttpApiBuilder.middleware(
    Effect.map(Effect.all([ServiceMetrics, StorageHealth]), ([metrics, storageHealth]) =>
      middleware(log, metrics, storageHealth)
    )
  )
