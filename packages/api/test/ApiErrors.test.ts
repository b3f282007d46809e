import { ErrorCode } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import {
  AnyErrorEnvelope,
  type ApiError,
  codeOf,
  envelopeOf,
  errorEnvelopes,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyInProgressEnvelope,
  IdempotencyKeyReused,
  InternalError,
  JobNotFound,
  JobNotFoundEnvelope,
  MethodNotAllowed,
  ObjectConflict,
  ObjectConflictEnvelope,
  ObjectNotFound,
  ObjectNotFoundEnvelope,
  PayloadTooLarge,
  RateLimited,
  RateLimitedEnvelope,
  RecordNotFound,
  RecordNotFoundEnvelope,
  RequestInvalid,
  RequestInvalidEnvelope,
  HeadersTooLarge,
  RequestTimeout,
  RouteNotFound,
  RouteNotFoundEnvelope,
  responseHeadersOf,
  SchemaMismatch,
  SchemaMismatchEnvelope,
  ServiceUnavailable,
  statusOf,
  statusOfCode,
  Unauthorized,
  UnsupportedMediaType
} from "../src/index.js"

/** Each error, the exact SPEC envelope it is sent as, and its status. */
const cases: ReadonlyArray<readonly [ApiError, unknown, number]> = [
  [
    new RequestInvalid({ message: "body is not JSON" }),
    { success: false, error: { code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: "body is not JSON" } },
    400
  ],
  [
    RequestInvalid.tooManyRecords(10_001),
    {
      success: false,
      error: {
        code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
        message: "too many records: 10001; a batch holds at most 10000",
        details: { limit: 10_000, count: 10_001 }
      }
    },
    400
  ],
  [
    new SchemaMismatch({
      message: "fields not on the schema of object events: colour, size",
      unknownFields: [
        { field: "colour", firstIndex: 0 },
        { field: "size", firstIndex: 7 }
      ]
    }),
    {
      success: false,
      error: {
        code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
        message: "fields not on the schema of object events: colour, size",
        details: {
          unknownFields: [
            { field: "colour", firstIndex: 0 },
            { field: "size", firstIndex: 7 }
          ]
        }
      }
    },
    400
  ],
  [
    new Unauthorized({ message: "missing bearer token" }),
    { success: false, error: { code: "CDP_ETL.AUTH.UNAUTHORIZED", message: "missing bearer token" } },
    401
  ],
  [
    new Forbidden({ message: "needs scope admin", details: { requiredScope: "admin" } }),
    {
      success: false,
      error: { code: "CDP_ETL.AUTH.FORBIDDEN", message: "needs scope admin", details: { requiredScope: "admin" } }
    },
    403
  ],
  [
    new ObjectNotFound({ message: "no object ghosts" }),
    { success: false, error: { code: "CDP_ETL.NOT_FOUND.OBJECT", message: "no object ghosts" } },
    404
  ],
  [
    new JobNotFound({ message: "no job rjob_x" }),
    { success: false, error: { code: "CDP_ETL.NOT_FOUND.JOB", message: "no job rjob_x" } },
    404
  ],
  [
    new RecordNotFound({ message: "no record r1" }),
    { success: false, error: { code: "CDP_ETL.NOT_FOUND.RECORD", message: "no record r1" } },
    404
  ],
  [
    new RouteNotFound({ message: "no route GET /nope" }),
    { success: false, error: { code: "CDP_ETL.NOT_FOUND.ROUTE", message: "no route GET /nope" } },
    404
  ],
  [
    new MethodNotAllowed({ message: "DELETE not allowed" }),
    { success: false, error: { code: "CDP_ETL.REQUEST.METHOD_NOT_ALLOWED", message: "DELETE not allowed" } },
    405
  ],
  [
    new RequestTimeout({ message: "body too slow" }),
    { success: false, error: { code: "CDP_ETL.REQUEST.TIMEOUT", message: "body too slow" } },
    408
  ],
  [
    new HeadersTooLarge({ message: "headers over 16 KB" }),
    { success: false, error: { code: "CDP_ETL.REQUEST.HEADERS_TOO_LARGE", message: "headers over 16 KB" } },
    431
  ],
  [
    new IdempotencyInProgress({ message: "in progress", retryAfter: 1 }),
    {
      success: false,
      error: { code: "CDP_ETL.IDEMPOTENCY.IN_PROGRESS", message: "in progress", details: { retryAfter: 1 } }
    },
    409
  ],
  [
    new ObjectConflict({
      message: "field tier would change type",
      conflicts: [{ field: "tier", previousType: "string", nextType: "integer" }]
    }),
    {
      success: false,
      error: {
        code: "CDP_ETL.OBJECT.CONFLICT",
        message: "field tier would change type",
        details: { conflicts: [{ field: "tier", previousType: "string", nextType: "integer" }] }
      }
    },
    409
  ],
  [
    new PayloadTooLarge({ message: "body over 10485760 bytes", limit: 10_485_760, size: 12_000_000 }),
    {
      success: false,
      error: {
        code: "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE",
        message: "body over 10485760 bytes",
        details: { limit: 10_485_760, size: 12_000_000 }
      }
    },
    413
  ],
  [
    new UnsupportedMediaType({ message: "text/plain is not JSON" }),
    { success: false, error: { code: "CDP_ETL.REQUEST.UNSUPPORTED_MEDIA_TYPE", message: "text/plain is not JSON" } },
    415
  ],
  [
    new IdempotencyKeyReused({ message: "key reused" }),
    { success: false, error: { code: "CDP_ETL.IDEMPOTENCY.KEY_REUSED", message: "key reused" } },
    422
  ],
  [
    new RateLimited({ message: "slow down", retryAfter: 3 }),
    { success: false, error: { code: "CDP_ETL.RATE_LIMITED", message: "slow down", details: { retryAfter: 3 } } },
    429
  ],
  [
    new InternalError({ message: "boom" }),
    { success: false, error: { code: "CDP_ETL.SERVER.INTERNAL_ERROR", message: "boom" } },
    500
  ],
  [
    new ServiceUnavailable({ message: "shutting down", details: { checks: { storage: "failing", workers: "ok" } } }),
    {
      success: false,
      error: {
        code: "CDP_ETL.SERVER.UNAVAILABLE",
        message: "shutting down",
        details: { checks: { storage: "failing", workers: "ok" } }
      }
    },
    503
  ]
]

const decodeAny = Schema.decodeUnknownEither(AnyErrorEnvelope)

describe("ApiErrors", () => {
  it("covers every error class", () => {
    assert.strictEqual(errorEnvelopes.length, 19)
    assert.deepStrictEqual(new Set(cases.map(([error]) => error._tag)).size, errorEnvelopes.length)
  })

  for (const [error, envelope, status] of cases) {
    describe(`${error._tag} (${status})`, () => {
      it("encodes to exactly the SPEC envelope", () => {
        assert.deepStrictEqual(envelopeOf(error), envelope)
        assert.strictEqual(JSON.stringify(envelopeOf(error)), JSON.stringify(envelope))
      })

      it("decodes back to its class", () => {
        const decoded = Schema.decodeUnknownSync(AnyErrorEnvelope)(JSON.parse(JSON.stringify(envelope)))
        assert.strictEqual(Object.getPrototypeOf(decoded), Object.getPrototypeOf(error))
        assert.strictEqual(decoded._tag, error._tag)
        assert.deepStrictEqual({ ...decoded }, { ...error })
        assert.strictEqual(decoded.message, error.message)
      })

      it("has its status and code", () => {
        assert.strictEqual(statusOf(error), status)
        assert.strictEqual(statusOfCode(codeOf(error)), status)
        assert.include(ErrorCode.all as ReadonlyArray<string>, codeOf(error))
      })
    })
  }

  it("each envelope schema encodes with Schema.encodeSync and carries its status annotation", () => {
    const error = new RateLimited({ message: "slow down", retryAfter: 2 })
    assert.deepStrictEqual(Schema.encodeSync(RateLimitedEnvelope)(error), {
      success: false,
      error: { code: "CDP_ETL.RATE_LIMITED", message: "slow down", details: { retryAfter: 2 } }
    })
    assert.strictEqual(RateLimitedEnvelope.status, 429)
    assert.strictEqual(RateLimitedEnvelope.code, ErrorCode.RateLimited)
  })

  it("tells apart two 400s by code", () => {
    const both = Schema.decodeUnknownSync(Schema.Union(RequestInvalidEnvelope, SchemaMismatchEnvelope))
    const schema = both({
      success: false,
      error: {
        code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
        message: "unknown field",
        details: { unknownFields: [{ field: "colour", firstIndex: 2 }] }
      }
    })
    assert.instanceOf(schema, SchemaMismatch)
    assert.deepStrictEqual((schema as SchemaMismatch).unknownFields, [{ field: "colour", firstIndex: 2 }])
    const invalid = both({ success: false, error: { code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: "no" } })
    assert.instanceOf(invalid, RequestInvalid)
  })

  it("tells apart the four 404s by code", () => {
    const notFound = Schema.decodeUnknownSync(
      Schema.Union(RouteNotFoundEnvelope, ObjectNotFoundEnvelope, JobNotFoundEnvelope, RecordNotFoundEnvelope)
    )
    const body = (code: string) => ({ success: false, error: { code, message: "not found" } })
    assert.instanceOf(notFound(body("CDP_ETL.NOT_FOUND.OBJECT")), ObjectNotFound)
    assert.instanceOf(notFound(body("CDP_ETL.NOT_FOUND.JOB")), JobNotFound)
    assert.instanceOf(notFound(body("CDP_ETL.NOT_FOUND.RECORD")), RecordNotFound)
    assert.instanceOf(notFound(body("CDP_ETL.NOT_FOUND.ROUTE")), RouteNotFound)
  })

  it("tells apart the two 409s by code", () => {
    const conflict = Schema.decodeUnknownSync(Schema.Union(ObjectConflictEnvelope, IdempotencyInProgressEnvelope))
    const inProgress = conflict({
      success: false,
      error: { code: "CDP_ETL.IDEMPOTENCY.IN_PROGRESS", message: "wait", details: { retryAfter: 2 } }
    })
    assert.instanceOf(inProgress, IdempotencyInProgress)
    assert.strictEqual((inProgress as IdempotencyInProgress).retryAfter, 2)
    const object = conflict({
      success: false,
      error: { code: "CDP_ETL.OBJECT.CONFLICT", message: "type change", details: { conflicts: [] } }
    })
    assert.instanceOf(object, ObjectConflict)
  })

  it("rejects an envelope whose code belongs to another error, and unknown codes", () => {
    const body = { success: false, error: { code: "CDP_ETL.NOT_FOUND.JOB", message: "x" } }
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(ObjectNotFoundEnvelope)(body)))
    assert.isTrue(Either.isLeft(decodeAny({ success: false, error: { code: "CDP_ETL.NOPE", message: "x" } })))
    assert.isTrue(Either.isLeft(decodeAny({ success: true, data: {} })))
  })

  it("needs the details of errors that carry fields", () => {
    const noRetryAfter = { success: false, error: { code: "CDP_ETL.RATE_LIMITED", message: "slow down" } }
    assert.isTrue(Either.isLeft(decodeAny(noRetryAfter)))
  })

  it("ignores properties it does not know", () => {
    const decoded = Schema.decodeUnknownSync(RateLimitedEnvelope)({
      success: false,
      error: { code: "CDP_ETL.RATE_LIMITED", message: "slow down", details: { retryAfter: 5, bucket: "t" } },
      requestId: "abc"
    })
    assert.strictEqual(decoded.retryAfter, 5)
  })

  it("reads too many records and a rejected record out of RequestInvalid", () => {
    const tooMany = RequestInvalid.tooManyRecords(12_000, 10_000)
    assert.deepStrictEqual(tooMany.tooManyRecords, { limit: 10_000, count: 12_000 })
    assert.isUndefined(tooMany.rowErrors)
    const rowErrors = [
      {
        index: 0,
        code: ErrorCode.RequestInvalid,
        field: "occurred_at",
        pointer: "/occurred_at",
        message: "datetime needs a zone: 2026-04-21T15:00:00"
      },
      { index: 0, code: ErrorCode.RequestSchema, field: "colour", pointer: "/colour", message: "not on the schema" }
    ] as const
    const invalid = RequestInvalid.invalidRecord(rowErrors)
    assert.deepStrictEqual(envelopeOf(invalid), {
      success: false,
      error: {
        code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
        message: "invalid record: datetime needs a zone: 2026-04-21T15:00:00 (and 1 more problem)",
        details: { errors: rowErrors }
      }
    })
    const decoded = Schema.decodeUnknownSync(RequestInvalidEnvelope)(envelopeOf(invalid))
    assert.deepStrictEqual(decoded.rowErrors, rowErrors)
    assert.isUndefined(decoded.tooManyRecords)
    assert.isUndefined(new RequestInvalid({ message: "x" }).rowErrors)
  })

  it("gives the response headers of each error", () => {
    assert.deepStrictEqual(responseHeadersOf(new Unauthorized({ message: "x" })), {
      "www-authenticate": 'Bearer realm="batchwrite"'
    })
    assert.deepStrictEqual(responseHeadersOf(new RateLimited({ message: "x", retryAfter: 7 })), { "retry-after": "7" })
    assert.deepStrictEqual(responseHeadersOf(new IdempotencyInProgress({ message: "x", retryAfter: 1 })), {
      "retry-after": "1"
    })
    assert.deepStrictEqual(responseHeadersOf(new Forbidden({ message: "x" })), {})
  })

  it("are yieldable errors with their message", () => {
    const error = new PayloadTooLarge({ message: "too big", limit: 1, size: 2 })
    assert.instanceOf(error, Error)
    assert.strictEqual(error.message, "too big")
  })
})
