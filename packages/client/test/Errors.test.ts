import {
  envelopeOf,
  JobNotFound,
  ObjectConflict,
  RequestInvalid,
  RequestTimeout,
  ServiceUnavailable
} from "@batchwrite/api"
import { ErrorCode } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import { fromApiError, fromErrorResponse, IdempotencyInProgress, parseRetryAfter, RateLimited } from "../src/Errors.js"

const envelope = (error: Parameters<typeof envelopeOf>[0]) => JSON.stringify(envelopeOf(error))

describe("fromApiError", () => {
  it("maps each wire error to its client error", () => {
    const tooMany = fromApiError(RequestInvalid.tooManyRecords(10_001))
    assert.strictEqual(tooMany._tag, "TooManyRecords")
    assert.include(tooMany, { limit: 10_000, count: 10_001 })
    const invalid = fromApiError(new RequestInvalid({ message: "no records" }))
    assert.include(invalid, { _tag: "InvalidRequest", status: 400, code: ErrorCode.RequestInvalid })
    assert.include(fromApiError(new JobNotFound({ message: "no job" })), {
      _tag: "NotFound",
      code: ErrorCode.NotFoundJob
    })
    assert.include(fromApiError(new RequestTimeout({ message: "slow" })), { _tag: "ServerError", status: 408 })
    assert.include(fromApiError(new ServiceUnavailable({ message: "down" }), 7), {
      _tag: "ServerError",
      status: 503,
      retryAfter: 7
    })
    const conflict = fromApiError(
      new ObjectConflict({ message: "types", conflicts: [{ field: "a", previousType: "string", nextType: "integer" }] })
    )
    assert.include(conflict, { _tag: "InvalidRequest", status: 409, code: ErrorCode.ObjectConflict })
    const limited = new RateLimited({ message: "slow", retryAfter: 2 })
    assert.strictEqual(fromApiError(limited), limited)
    assert.include(fromApiError(limited, 9), { _tag: "RateLimited", retryAfter: 9 })
  })
})

describe("fromErrorResponse", () => {
  it("reads the error envelope, whatever the status", () => {
    const error = fromErrorResponse(
      429,
      { "retry-after": "4" },
      envelope(new RateLimited({ message: "slow down", retryAfter: 4 }))
    )
    assert.include(error, { _tag: "RateLimited", retryAfter: 4 })
    const inProgress = fromErrorResponse(
      409,
      {},
      envelope(new IdempotencyInProgress({ message: "busy", retryAfter: 1 }))
    )
    assert.include(inProgress, { _tag: "IdempotencyInProgress", retryAfter: 1 })
  })

  it("falls back on the status for a body that is not an envelope", () => {
    const cases: ReadonlyArray<readonly [number, Record<string, string>, string]> = [
      [400, {}, "InvalidRequest"],
      [401, {}, "Unauthorized"],
      [403, {}, "Forbidden"],
      [404, {}, "NotFound"],
      [408, {}, "ServerError"],
      [409, {}, "InvalidRequest"],
      [409, { "retry-after": "1" }, "IdempotencyInProgress"],
      [413, {}, "PayloadTooLarge"],
      [418, {}, "InvalidRequest"],
      [422, {}, "IdempotencyKeyReused"],
      [429, {}, "RateLimited"],
      [500, {}, "ServerError"],
      [501, {}, "ServerError"],
      [502, {}, "ServerError"],
      [503, { "retry-after": "3" }, "ServerError"]
    ]
    for (const [status, headers, tag] of cases) {
      assert.strictEqual(fromErrorResponse(status, headers, "<html>oops</html>")._tag, tag, String(status))
    }
    assert.include(fromErrorResponse(429, { "retry-after": "5" }, ""), { retryAfter: 5 })
    assert.include(fromErrorResponse(503, { "retry-after": "3" }, ""), { status: 503, retryAfter: 3 })
    assert.include(fromErrorResponse(413, {}, "", 12_345), { size: 12_345 })
  })
})

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    assert.strictEqual(parseRetryAfter("3"), 3)
    assert.strictEqual(parseRetryAfter(" 0 "), 0)
    assert.strictEqual(parseRetryAfter(undefined), undefined)
    assert.strictEqual(parseRetryAfter("soon"), undefined)
    const now = Date.parse("2026-04-21T15:00:00Z")
    assert.strictEqual(parseRetryAfter("Tue, 21 Apr 2026 15:00:10 GMT", now), 10)
    assert.strictEqual(parseRetryAfter("Tue, 21 Apr 2026 14:00:00 GMT", now), 0)
  })
})
