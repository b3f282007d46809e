/**
 * The operations routes (SPEC §1.10): liveness, readiness, Prometheus metrics, the OpenAPI document and the API
 * reference page. No bearer auth and no rate limit.
 */
import { Envelope } from "@batchwrite/core"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { InternalErrorEnvelope, MethodNotAllowedEnvelope, ServiceUnavailableEnvelope } from "./ApiErrors.js"
import { basePath } from "./BasePath.js"
import { HealthResponse, OpenApiDocument, ReadinessResponse } from "./Responses.js"

/** The content type of `GET /metrics`: the Prometheus text format. */
export const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

/** The content type of `GET /docs`. */
export const docsContentType = "text/html; charset=utf-8"

/** What `GET /` answers: where the API, its reference and its OpenAPI document are. */
export const ServiceIndex = Schema.Struct({
  service: Schema.Literal("batchwrite"),
  api: Schema.String,
  docs: Schema.String,
  openapi: Schema.String
}).annotations({
  identifier: "ServiceIndex",
  description: "Where the API, its reference page and its OpenAPI document are"
})

/** `GET /`: points to the API reference. */
export const root = HttpApiEndpoint.get("root", "/")
  .addSuccess(Envelope.SuccessEnvelope(ServiceIndex))
  .annotateContext(
    OpenApi.annotations({
      summary: "Service index",
      description: "Where the API (`/public/v1`), its reference page (`/docs`) and its OpenAPI document are."
    })
  )

/** `GET /healthz`: the process is up. */
export const healthz = HttpApiEndpoint.get("healthz", "/healthz")
  .addSuccess(HealthResponse)
  .annotateContext(OpenApi.annotations({ summary: "Liveness", description: "The process is up." }))

/** `GET /readyz`: storage reachable and workers running (200), or not (503). */
export const readyz = HttpApiEndpoint.get("readyz", "/readyz")
  .addSuccess(ReadinessResponse)
  .addError(ServiceUnavailableEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Readiness",
      description:
        "200 when storage takes writes and the workers run; otherwise 503 `CDP_ETL.SERVER.UNAVAILABLE` with " +
        '`details.checks` (`{"storage": "ok" | "failing", "workers": "ok" | "failing"}`) and, when storage is down, ' +
        "why in `details.storage` (unreachable, its disk nearly full, or writes failing in the last seconds). " +
        "Both carry `admission`: the bounds on in-flight body bytes and on each workspace's backlog, where the node " +
        "stands, and the drain rate (records committed per second)."
    })
  )

/** `GET /metrics`: Prometheus text. */
export const metrics = HttpApiEndpoint.get("metrics", "/metrics")
  .addSuccess(
    HttpApiSchema.Text({ contentType: metricsContentType }).annotations({
      description: "The Prometheus text exposition format"
    })
  )
  .annotateContext(
    OpenApi.annotations({
      summary: "Prometheus metrics",
      description:
        "Requests by route and status, records accepted / committed / invalid, queue depth, job latency histogram."
    })
  )

/** `GET /public/v1/openapi.json`: this API's OpenAPI 3.1 document. */
export const openApiJson = HttpApiEndpoint.get("openApiJson", `${basePath}/openapi.json`)
  .addSuccess(OpenApiDocument)
  .annotateContext(
    OpenApi.annotations({
      summary: "OpenAPI document",
      description: "The OpenAPI 3.1 document derived from the HttpApi contract (no envelope, no token needed)."
    })
  )

/** `GET /docs`: the API reference page, working with no internet access. */
export const docs = HttpApiEndpoint.get("docs", "/docs")
  .addSuccess(HttpApiSchema.Text({ contentType: docsContentType }).annotations({ description: "An HTML page" }))
  .annotateContext(
    OpenApi.annotations({
      summary: "API reference",
      description: "An HTML reference of this API that loads nothing from the internet."
    })
  )

/** The operations routes: outside bearer auth. */
export const OpsGroup = HttpApiGroup.make("ops")
  .add(root)
  .add(healthz)
  .add(readyz)
  .add(metrics)
  .add(openApiJson)
  .add(docs)
  .addError(MethodNotAllowedEnvelope)
  .addError(InternalErrorEnvelope)
  .annotateContext(
    OpenApi.annotations({ title: "ops", description: "Health, readiness, metrics and documentation; no token" })
  )
