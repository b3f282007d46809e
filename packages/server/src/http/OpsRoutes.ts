/**
 * Operations routes outside the bearer auth (SPEC §1.10): liveness, readiness, Prometheus metrics, the OpenAPI
 * document of the
 * contract and an API reference page that works offline.
 */
import { openApiSpec } from "@batchwrite/api"
import { ErrorCode } from "@batchwrite/core"
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { JobsRepo } from "../JobsRepo.js"
import { JobWorkers } from "../JobWorkers.js"
import { ServiceMetrics } from "../ServiceMetrics.js"
import { ApiFailure } from "./ApiFailure.js"
import { docsPage } from "./DocsPage.js"
import { failure, success, toHttp } from "./Responses.js"

const healthz = toHttp(success(200, { status: "ok" }))

const checkState = (ok: boolean) => (ok ? "ok" : "failing")

const readyz = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const storage = yield* sql`SELECT 1`.pipe(
    Effect.as(true),
    Effect.catchAll(() => Effect.succeed(false))
  )
  const workers = yield* (yield* JobWorkers).running
  const checks = { storage: checkState(storage), workers: checkState(workers) }
  if (storage && workers) return toHttp(success(200, { status: "ready", checks }))
  const notReady = new ApiFailure({
    status: 503,
    code: ErrorCode.ServiceUnavailable,
    message: "not ready: storage or the job workers are failing",
    details: { checks }
  })
  return toHttp(failure(notReady))
})

const metrics = Effect.gen(function* () {
  const depth = yield* (yield* JobsRepo).queueDepth()
  const text = (yield* ServiceMetrics).render(depth)
  return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
})

const openApiText = JSON.stringify(openApiSpec)
const docsHtml = docsPage(openApiSpec)

/** The operations routes. */
export const opsRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/healthz", Effect.succeed(healthz)),
  HttpRouter.get("/readyz", readyz),
  HttpRouter.get("/metrics", metrics),
  HttpRouter.get(
    "/public/v1/openapi.json",
    Effect.succeed(HttpServerResponse.text(openApiText, { contentType: "application/json" }))
  ),
  HttpRouter.get(
    "/docs",
    Effect.succeed(HttpServerResponse.text(docsHtml, { contentType: "text/html; charset=utf-8" }))
  )
)
