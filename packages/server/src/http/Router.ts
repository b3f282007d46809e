/**
 * The service's HTTP application: every route, an envelope for unknown routes, a 500 envelope (with the cause
 * logged, never sent) for defects, and one log line per request (method, path, status, records, ms; never a
 * token or a query string), counted in the metrics.
 */
import { ErrorCode } from "@batchwrite/core"
import { HttpMiddleware, HttpRouter, HttpServerRequest } from "@effect/platform"
import { Cause, Console, Effect } from "effect"
import { ServiceMetrics } from "../ServiceMetrics.js"
import { ApiFailure } from "./ApiFailure.js"
import { batchRoutes } from "./BatchRoutes.js"
import { jobRoutes } from "./JobRoutes.js"
import { objectRoutes } from "./ObjectRoutes.js"
import { opsRoutes } from "./OpsRoutes.js"
import { recordRoutes } from "./RecordRoutes.js"
import { recordWriteRoutes } from "./RecordWriteRoutes.js"
import { RequestRecords } from "./RequestRecords.js"
import { failure, internalError, toHttp } from "./Responses.js"

const routeNotFound = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const path = new URL(request.url, "http://localhost").pathname
  return toHttp(
    failure(
      new ApiFailure({
        status: 404,
        code: ErrorCode.NotFoundRoute,
        message: `no route ${request.method} ${path}; the API lives under /public/v1 (see /docs)`
      })
    )
  )
})

/** Every route of the service. */
export const router = HttpRouter.concatAll(
  batchRoutes,
  jobRoutes,
  recordRoutes,
  recordWriteRoutes,
  objectRoutes,
  opsRoutes
).pipe(
  HttpRouter.all("*", routeNotFound),
  HttpRouter.catchAllCause((cause) =>
    Effect.zipRight(Effect.logError("request failed", Cause.pretty(cause)), Effect.succeed(toHttp(internalError)))
  )
)

/** Counts every request in the metrics and, when `log` is on, prints one line per request on stdout. */
export const observeRequests = (log: false | "text" | "json") =>
  HttpMiddleware.make((app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = performance.now()
      const records: RequestRecords["Type"] = { count: undefined }
      const response = yield* Effect.provideService(app, RequestRecords, records)
      const path = request.url.split("?")[0]!
      yield* (yield* ServiceMetrics).recordRequest(request.method, path, response.status)
      if (log !== false) {
        const ms = (performance.now() - started).toFixed(1)
        yield* Console.log(
          log === "json"
            ? JSON.stringify({
                time: new Date().toISOString(),
                method: request.method,
                path,
                status: response.status,
                records: records.count ?? null,
                ms: Number(ms)
              })
            : `${request.method} ${path} ${response.status} records=${records.count ?? "-"} ${ms}ms`
        )
      }
      return response
    })
  )
