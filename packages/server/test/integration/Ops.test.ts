/**
 * SPEC §1.10 and §1.11 operations routes over real HTTP: liveness, readiness, the OpenAPI document of the contract,
 * an API reference page that loads nothing from the internet, and an error envelope for unknown routes.
 */
import { openApiSpec } from "@batchwrite/api"
import { assert, layer } from "@effect/vitest"
import { HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("operations (SPEC §1.10)", (it) => {
    it.effect("/healthz and /readyz answer 200 without a token", () =>
      Effect.gen(function* () {
        const { anonymous } = yield* TestService.TestService
        const health = yield* anonymous.ops.healthz()
        assert.deepStrictEqual(health, { success: true, data: { status: "ok" } })
        const ready = yield* anonymous.ops.readyz()
        const { admission, ...readiness } = ready.data
        assert.deepStrictEqual(readiness, { status: "ready", checks: { storage: "ok", workers: "ok" } })
        assert.deepStrictEqual(
          { maxInFlightBodyBytes: admission.maxInFlightBodyBytes, maxBacklogRecords: admission.maxBacklogRecords },
          { maxInFlightBodyBytes: 256 * 1024 * 1024, maxBacklogRecords: 2_000_000 },
          "the default admission bounds"
        )
      })
    )

    it.effect("/public/v1/openapi.json is the OpenAPI 3.1 document of the contract, listing every route", () =>
      Effect.gen(function* () {
        const response = yield* TestService.rawGet("/public/v1/openapi.json")
        assert.strictEqual(response.status, 200)
        assert.match(response.headers["content-type"] ?? "", /^application\/json/)
        const document = JSON.parse(response.text) as {
          openapi: string
          info: { title: string }
          paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>
        }
        assert.match(document.openapi, /^3\.1\./)
        assert.strictEqual(document.info.title, "batchwrite")
        const routes = Object.entries(document.paths).flatMap(([path, item]) =>
          Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)
        )
        assert.includeMembers(routes, [
          "POST /public/v1/records/{object}/append-batch",
          "POST /public/v1/records/{object}/upsert-batch",
          "GET /public/v1/records/{object}",
          "GET /public/v1/records/{object}/{id}",
          "GET /public/v1/records/{object}/jobs/{jobId}",
          "GET /public/v1/records/{object}/jobs/{jobId}/errors",
          "GET /public/v1/objects",
          "GET /public/v1/objects/{name}",
          "PUT /public/v1/objects/{name}",
          "GET /healthz",
          "GET /readyz",
          "GET /public/v1/openapi.json",
          "GET /docs"
        ])
        const append = document.paths["/public/v1/records/{object}/append-batch"]!.post!
        assert.includeMembers(Object.keys(append.responses), ["200", "202", "400", "401", "404", "413", "415", "429"])
        assert.property(append.responses["202"]!.headers, "Location")
        // The same document the contract package builds.
        assert.deepStrictEqual(document, JSON.parse(JSON.stringify(openApiSpec)))
      })
    )

    it.effect("/docs is an HTML reference of the API that loads no script, style or font from another host", () =>
      Effect.gen(function* () {
        const response = yield* TestService.rawGet("/docs")
        assert.strictEqual(response.status, 200)
        assert.match(response.headers["content-type"] ?? "", /^text\/html/)
        const html = response.text
        assert.match(html, /<html/i)
        assert.include(html, "append-batch")
        const external = /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i
        const references = [...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*>/gi)]
          .map((match) => match[0])
          .filter((tag) => external.test(tag))
        assert.deepStrictEqual(references, [])
        assert.notMatch(html, /@import\s+(?:url\()?\s*["']?(?:https?:)?\/\//i)
        assert.notMatch(html, /url\(\s*["']?https?:\/\//i)
      })
    )

    it.effect("an unknown route answers a 404 error envelope NOT_FOUND.ROUTE", () =>
      Effect.gen(function* () {
        for (const path of ["/nope", "/public/v1/nope", "/public/v2/records/events"]) {
          const response = yield* TestService.rawGet(path, { token: TestService.tokens.alpha })
          TestService.expectError(response, 404, "RouteNotFound")
        }
      })
    )

    it.effect("a route asked with a method it does not have answers 405 with Allow, before any other check", () =>
      Effect.gen(function* () {
        const cases = [
          { method: "GET", path: "/public/v1/records/events/append-batch", allow: "POST" },
          { method: "DELETE", path: "/public/v1/records/events/upsert-batch", allow: "POST" },
          { method: "POST", path: "/public/v1/objects/events", allow: "GET, PUT, HEAD" },
          { method: "PUT", path: "/public/v1/records/events/jobs/rjob_01JD00000000000000000000ZZ", allow: "GET, HEAD" },
          { method: "POST", path: "/healthz", allow: "GET, HEAD" }
        ]
        for (const { allow, method, path } of cases) {
          // No token: the method is wrong whoever asks.
          const response = yield* TestService.send(HttpClientRequest.make(method as "GET")(path))
          const error = TestService.expectError(response, 405, "MethodNotAllowed")
          assert.strictEqual(response.headers.allow, allow, path)
          assert.include(error.message, method)
        }
      })
    )

    it.effect("GET / points to the reference page, the API and the OpenAPI document", () =>
      Effect.gen(function* () {
        const { anonymous } = yield* TestService.TestService
        const index = yield* anonymous.ops.root()
        assert.deepStrictEqual(index.data, {
          service: "batchwrite",
          api: "/public/v1",
          docs: "/docs",
          openapi: "/public/v1/openapi.json"
        })
      })
    )

    it.effect("/metrics counts requests by route template, records accepted and committed, and job latency", () =>
      Effect.gen(function* () {
        const body = JSON.stringify({
          records: [
            { event: "metrics", occurred_at: "2026-04-21T15:00:00Z" },
            { event: "metrics", occurred_at: "2026-04-21T15:00:00" }
          ]
        })
        const accepted = yield* TestService.rawPost("/public/v1/records/events/append-batch", body, {
          token: TestService.tokens.alpha,
          headers: { prefer: "wait=10" }
        })
        assert.strictEqual(accepted.status, 200, accepted.text)
        const response = yield* TestService.rawGet("/metrics")
        assert.strictEqual(response.status, 200)
        assert.match(response.headers["content-type"] ?? "", /^text\/plain/)
        const value = (series: string) => {
          const line = response.text.split("\n").find((l) => l.startsWith(`${series} `))
          assert.isDefined(line, `${series} in\n${response.text}`)
          return Number(line!.slice(series.length + 1))
        }
        assert.isAtLeast(
          value(
            'batchwrite_http_requests_total{method="POST",route="/public/v1/records/{object}/append-batch",status="200"}'
          ),
          1
        )
        assert.isAtLeast(value("batchwrite_records_accepted_total"), 2)
        assert.isAtLeast(value('batchwrite_records_committed_total{outcome="inserted"}'), 1)
        assert.isAtLeast(value("batchwrite_records_invalid_total"), 1)
        assert.isAtLeast(value("batchwrite_job_latency_seconds_count"), 1)
        assert.strictEqual(value('batchwrite_queue_depth{state="processing"}'), 0)
        assert.notMatch(response.text, /rjob_|events\/jobs\//, "no job ids or object names in labels")
      })
    )
  })
})
