import { assert, describe, it } from "@effect/vitest"
import { Keys } from "@batchwrite/core"
import { Schema } from "effect"
import { AnyErrorEnvelope, BatchwriteApi, codeOf, exampleOrigin, openApiSpec } from "../src/index.js"

type Examples = Record<string, { readonly summary: string; readonly value: unknown }>

type Operation = {
  readonly operationId: string
  readonly "x-codeSamples": ReadonlyArray<{ readonly lang: string; readonly label: string; readonly source: string }>
  readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly parameters: ReadonlyArray<{ readonly name: string; readonly in: string; readonly required: boolean }>
  readonly responses: Record<
    string,
    { description: string; headers?: Record<string, unknown>; content?: Record<string, { examples?: Examples }> }
  >
  readonly requestBody?: { readonly content: Record<string, { examples?: Examples }> }
}

const operation = (method: string, path: string): Operation => {
  const found = (openApiSpec.paths as Record<string, Record<string, Operation>>)[path]?.[method]
  assert.isDefined(found, `${method.toUpperCase()} ${path} is in the OpenAPI document`)
  return found!
}

const authed = ["401", "403", "405", "429", "500", "503"]
const batchStatuses = ["200", "202", "400", "404", "408", "409", "413", "415", "422", ...authed]

/** Every route of SPEC §1: method, path, operationId, statuses. */
const routes: ReadonlyArray<readonly [string, string, string, ReadonlyArray<string>]> = [
  ["post", "/public/v1/records/{object}/append-batch", "records.appendBatch", batchStatuses],
  ["post", "/public/v1/records/{object}/upsert-batch", "records.upsertBatch", batchStatuses],
  [
    "post",
    "/public/v1/records/{object}",
    "records.writeRecord",
    ["200", "201", "202", "400", "404", "408", "409", "413", "415", "422", ...authed]
  ],
  ["get", "/public/v1/records/{object}", "records.listRecords", ["200", "400", "404", ...authed]],
  ["get", "/public/v1/records/{object}/{id}", "records.getRecord", ["200", "404", ...authed]],
  ["get", "/public/v1/records/{object}/jobs/{jobId}", "jobs.getJob", ["200", "404", ...authed]],
  ["get", "/public/v1/records/{object}/jobs/{jobId}/errors", "jobs.listJobErrors", ["200", "400", "404", ...authed]],
  ["get", "/public/v1/objects", "objects.listObjects", ["200", "404", ...authed]],
  ["get", "/public/v1/objects/{name}", "objects.getObject", ["200", "404", ...authed]],
  [
    "put",
    "/public/v1/objects/{name}",
    "objects.putObject",
    ["200", "201", "400", "404", "408", "409", "413", "415", ...authed]
  ],
  ["get", "/", "ops.root", ["200", "405", "500"]],
  ["get", "/healthz", "ops.healthz", ["200", "405", "500"]],
  ["get", "/readyz", "ops.readyz", ["200", "405", "500", "503"]],
  ["get", "/metrics", "ops.metrics", ["200", "405", "500"]],
  ["get", "/public/v1/openapi.json", "ops.openApiJson", ["200", "405", "500"]],
  ["get", "/docs", "ops.docs", ["200", "405", "500"]]
]

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 titled batchwrite, with a version and a description", () => {
    assert.strictEqual(openApiSpec.openapi, "3.1.0")
    assert.strictEqual(openApiSpec.info.title, "batchwrite")
    assert.strictEqual(openApiSpec.info.version, "0.1.0")
    assert.include(openApiSpec.info.description, "/public/v1")
  })

  it("has exactly the routes of SPEC §1", () => {
    const actual = Object.entries(openApiSpec.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort()
    const expected = routes.map(([method, path]) => `${method.toUpperCase()} ${path}`).sort()
    assert.deepStrictEqual(actual, expected)
  })

  for (const [method, path, operationId, statuses] of routes) {
    it(`${method.toUpperCase()} ${path} answers ${statuses.join(", ")}`, () => {
      const op = operation(method, path)
      assert.strictEqual(op.operationId, operationId)
      assert.deepStrictEqual(Object.keys(op.responses).sort(), [...statuses].sort())
      for (const [status, response] of Object.entries(op.responses)) {
        assert.isNotEmpty(response.description, `${status} is described`)
        assert.isDefined(response.content, `${status} has a body`)
      }
    })

    const secured = path.startsWith("/public/v1/") && path !== "/public/v1/openapi.json"
    it(`${method.toUpperCase()} ${path} ${secured ? "needs" : "does not need"} a bearer token`, () => {
      assert.deepStrictEqual(operation(method, path).security, secured ? [{ bearer: [] }] : [])
    })
  }

  it("declares the bearer scheme", () => {
    assert.deepStrictEqual(
      {
        type: openApiSpec.components.securitySchemes.bearer?.type,
        scheme: (openApiSpec.components.securitySchemes.bearer as { scheme?: string }).scheme
      },
      { type: "http", scheme: "bearer" }
    )
  })

  it("describes errors as the SPEC envelope, never HttpApiDecodeError", () => {
    const text = JSON.stringify(openApiSpec)
    assert.notInclude(text, "HttpApiDecodeError")
    const schemas = openApiSpec.components.schemas as Record<string, { properties?: Record<string, unknown> }>
    assert.deepStrictEqual(schemas.RateLimited?.properties?.success, { type: "boolean", enum: [false] })
    const error = schemas.RateLimited?.properties?.error as {
      properties: Record<string, unknown>
      required: Array<string>
    }
    assert.deepStrictEqual(error.properties.code, { type: "string", enum: ["CDP_ETL.RATE_LIMITED"] })
    assert.deepStrictEqual(error.required, ["code", "message", "details"])
    const byStatus = operation("get", "/public/v1/records/{object}/{id}").responses["404"]!
    for (const code of ["CDP_ETL.NOT_FOUND.OBJECT", "CDP_ETL.NOT_FOUND.RECORD", "CDP_ETL.NOT_FOUND.ROUTE"]) {
      assert.include(byStatus.description, code)
    }
  })

  it("takes the batch headers in lower case, and the body as JSON", () => {
    const op = operation("post", "/public/v1/records/{object}/append-batch")
    assert.deepStrictEqual(
      op.parameters.map((p) => [p.name, p.in, p.required]),
      [
        ["object", "path", true],
        ["idempotency-key", "header", false],
        ["prefer", "header", false]
      ]
    )
    assert.deepStrictEqual(Object.keys(op.requestBody!.content), ["application/json"])
  })

  it("documents the response headers HttpApi cannot type", () => {
    const append = operation("post", "/public/v1/records/{object}/append-batch").responses
    assert.includeMembers(Object.keys(append["202"]!.headers!), [
      "Location",
      "Idempotent-Replayed",
      "RateLimit",
      "RateLimit-Policy"
    ])
    assert.includeMembers(Object.keys(append["200"]!.headers!), ["Preference-Applied", "Idempotent-Replayed"])
    assert.includeMembers(Object.keys(append["409"]!.headers!), ["Retry-After"])
    assert.includeMembers(Object.keys(append["429"]!.headers!), ["Retry-After", "RateLimit"])
    assert.includeMembers(Object.keys(append["401"]!.headers!), ["WWW-Authenticate"])
    assert.isUndefined(operation("get", "/healthz").responses["200"]!.headers)
  })

  it("documents the match key filter and the NDJSON form of the record list", () => {
    const op = operation("get", "/public/v1/records/{object}")
    assert.deepStrictEqual(
      op.parameters.map((p) => [p.name, p.in]),
      [
        ["object", "path"],
        ["limit", "query"],
        ["cursor", "query"],
        ["filter", "query"]
      ]
    )
    assert.includeMembers(Object.keys(op.responses["200"]!.content!), ["application/json", "application/x-ndjson"])
    assert.isDefined((openApiSpec.components.schemas as Record<string, unknown>).StoredRecord)
  })

  it("serves metrics as Prometheus text and docs as HTML", () => {
    assert.deepStrictEqual(Object.keys(operation("get", "/metrics").responses["200"]!.content!), [
      "text/plain; version=0.0.4; charset=utf-8"
    ])
    assert.deepStrictEqual(Object.keys(operation("get", "/docs").responses["200"]!.content!), [
      "text/html; charset=utf-8"
    ])
  })

  it("groups the endpoints for the client as records, jobs, objects and ops", () => {
    assert.deepStrictEqual(Object.keys(BatchwriteApi.groups), ["records", "jobs", "objects", "ops"])
    assert.deepStrictEqual(Object.keys(BatchwriteApi.groups.records!.endpoints), [
      "appendBatch",
      "upsertBatch",
      "writeRecord",
      "listRecords",
      "getRecord"
    ])
  })

  it("names the server to send requests to: a batchwrite serve, by default on 127.0.0.1:8787", () => {
    const [server] = openApiSpec.servers ?? []
    assert.strictEqual(server?.url, "http://{host}:{port}")
    assert.strictEqual(`http://${server?.variables?.host?.default}:${server?.variables?.port?.default}`, exampleOrigin)
  })

  for (const [method, path, operationId] of routes) {
    it(`${operationId} has a curl command sending its example request to the example server`, () => {
      const op = operation(method, path)
      const [curl] = op["x-codeSamples"]
      assert.strictEqual(curl?.label, "curl")
      const url = curl!.source.match(/^curl(?: -X \w+)? '([^']+)'/)?.[1]
      assert.isDefined(url, curl!.source)
      const pattern = new RegExp(`^${exampleOrigin}${path.replace(/\{\w+\}/g, "[^/?{}]+")}(\\?.*)?$`)
      assert.match(url!, pattern)
      assert.strictEqual(curl!.source.includes("Authorization: Bearer $BATCHWRITE_TOKEN"), op.security.length > 0)
      const body = op.requestBody?.content["application/json"]?.examples?.request?.value
      assert.strictEqual(curl!.source.includes("--data"), body !== undefined)
      if (body !== undefined) {
        const sent = JSON.parse(curl!.source.slice(curl!.source.indexOf("--data '") + 8, -1))
        assert.deepStrictEqual(sent, body)
      }
    })

    it(`${operationId}: every error status has an example of each error code it may carry`, () => {
      for (const [status, response] of Object.entries(operation(method, path).responses)) {
        if (Number(status) < 400) continue
        const examples = response.content?.["application/json"]?.examples ?? {}
        const codes = Object.values(examples).map(({ value }) =>
          codeOf(Schema.decodeUnknownSync(AnyErrorEnvelope)(value))
        )
        assert.isNotEmpty(codes, `${status} has examples`)
        for (const code of codes) assert.include(response.description, code, `${status}: ${code} is a documented code`)
        assert.strictEqual(new Set(codes).size, response.description.split("CDP_ETL.").length - 1, status)
      }
    })
  }

  it("shows the body and the answers of every write, with the 200 of Prefer: wait on the batch routes", () => {
    for (const [method, path] of routes) {
      const op = operation(method, path)
      if (op.requestBody !== undefined) assert.isDefined(op.requestBody.content["application/json"]?.examples, path)
    }
    for (const path of ["/public/v1/records/{object}/append-batch", "/public/v1/records/{object}/upsert-batch"]) {
      const op = operation("post", path)
      for (const status of ["202", "200"]) {
        assert.isNotEmpty(Object.keys(op.responses[status]?.content?.["application/json"]?.examples ?? {}), status)
      }
      assert.match(op["x-codeSamples"][1]!.source, /-H 'Prefer: wait=10'/)
    }
  })

  it("gives each example batch the idempotency key of the hosted API's recipe", () => {
    for (const path of ["/public/v1/records/{object}/append-batch", "/public/v1/records/{object}/upsert-batch"]) {
      const op = operation("post", path)
      const body = op.requestBody!.content["application/json"]!.examples!.request!.value as { records: Array<unknown> }
      assert.include(op["x-codeSamples"][0]!.source, `Idempotency-Key: ${Keys.batchIdempotencyKey(body.records)}`)
    }
  })
})
