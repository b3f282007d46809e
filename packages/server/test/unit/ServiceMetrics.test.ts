/**
 * Metrics labels stay few whatever paths clients send (issue 15, case 3: every one-segment path used to become a
 * label, and `/metrics` grew without bound from unauthenticated requests).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { routeOf } from "../../src/http/RouteTable.js"

const routes = new Set([
  "/",
  "/healthz",
  "/readyz",
  "/metrics",
  "/docs",
  "other",
  "/public/v1/openapi.json",
  "/public/v1/objects",
  "/public/v1/objects/{name}",
  "/public/v1/records/{object}",
  "/public/v1/records/{object}/append-batch",
  "/public/v1/records/{object}/upsert-batch",
  "/public/v1/records/{object}/jobs/{jobId}",
  "/public/v1/records/{object}/jobs/{jobId}/errors",
  "/public/v1/records/{object}/{id}"
])

const segment = fc.oneof(
  fc.constantFrom("public", "v1", "records", "objects", "jobs", "errors", "append-batch", "healthz", ""),
  fc.string({ maxLength: 12 })
)

describe("routeOf", () => {
  it("maps every path to one of a fixed set of route templates", () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 7 }), (segments) => {
        const path = `/${segments.join("/")}`
        assert.isTrue(routes.has(routeOf(path)), `${path} → ${routeOf(path)}`)
      }),
      { numRuns: 2_000 }
    )
  })

  it("made-up one-segment paths are all 'other'; the operations routes keep their path", () => {
    assert.deepStrictEqual(["/x1", "/wp-admin", "/healthz", "/metrics"].map(routeOf), [
      "other",
      "other",
      "/healthz",
      "/metrics"
    ])
  })
})
