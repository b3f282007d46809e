/**
 * The operations routes of the contract (SPEC §1.10), outside bearer auth: the service index, liveness, readiness,
 * Prometheus metrics, the OpenAPI document of the contract and an API reference page that works offline.
 */
import { BatchwriteApi, metricsContentType, openApiSpec, ServiceUnavailable } from "@batchwrite/api"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { JobWorkers } from "../jobs/JobWorkers.js"
import { Admission, admissionMetrics } from "../services/Admission.js"
import { ServiceMetrics } from "../services/ServiceMetrics.js"
import { StorageHealth } from "../services/StorageHealth.js"
import { JobsRepo } from "../storage/JobsRepo.js"
import { docsPage } from "./DocsPage.js"
import { failure, ok, toHttp } from "./Responses.js"

const checkState = (ok: boolean) => (ok ? "ok" : "failing")

const readyz = Effect.gen(function* () {
  const storageDown = yield* (yield* StorageHealth).whyDown
  const workers = yield* (yield* JobWorkers).running
  const admission = yield* (yield* Admission).state
  const checks = { storage: checkState(Option.isNone(storageDown)), workers: checkState(workers) }
  if (Option.isNone(storageDown) && workers) return ok({ status: "ready", checks, admission })
  const notReady = new ServiceUnavailable({
    message: `not ready: ${Option.getOrElse(storageDown, () => "the job workers are not running")}`,
    details: {
      checks,
      ...Option.match(storageDown, { onNone: () => ({}), onSome: (storage) => ({ storage }) }),
      admission
    }
  })
  return toHttp(failure(notReady))
})

const metrics = Effect.gen(function* () {
  const depth = yield* (yield* JobsRepo).queueDepth()
  const admission = yield* Admission
  const text =
    (yield* ServiceMetrics).render(depth) + admissionMetrics(yield* admission.state, yield* admission.refusals)
  return HttpServerResponse.text(text, { contentType: metricsContentType })
})

const index = ok({
  service: "batchwrite",
  api: "/public/v1",
  docs: "/docs",
  openapi: "/public/v1/openapi.json"
})
const openApiText = JSON.stringify(openApiSpec)
const docsHtml = docsPage(openApiSpec)

/** The handlers of the operations group. */
export const OpsHttpLive = HttpApiBuilder.group(BatchwriteApi, "ops", (handlers) =>
  handlers
    .handle("root", () => Effect.succeed(index))
    .handle("healthz", () => Effect.succeed(ok({ status: "ok" })))
    .handle("readyz", () => readyz)
    .handle("metrics", () => metrics)
    .handle("openApiJson", () =>
      Effect.succeed(HttpServerResponse.text(openApiText, { contentType: "application/json" }))
    )
    .handle("docs", () =>
      Effect.succeed(HttpServerResponse.text(docsHtml, { contentType: "text/html; charset=utf-8" }))
    )
)
