/**
 * The error codes of the batchwrite API: every `error.code` of an error envelope, every `failure.code` of a failed
 * job and every `code` of a row error is one of these.
 */
import { Schema } from "effect"

/** The request (or a row of it) is malformed or breaks a rule of the object schema. HTTP 400, and row errors. */
export const RequestInvalid = "CDP_ETL.VALIDATION.REQUEST_INVALID" as const

/** A record names a field that is not on the object schema. HTTP 400 for a batch, and row errors. */
export const RequestSchema = "CDP_ETL.VALIDATION.REQUEST_SCHEMA" as const

/** The body is larger than the limit, measured after any `Content-Encoding` is undone. HTTP 413. */
export const PayloadTooLarge = "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE" as const

/** The `Content-Type` of the request is not JSON. HTTP 415. */
export const UnsupportedMediaType = "CDP_ETL.REQUEST.UNSUPPORTED_MEDIA_TYPE" as const

/** The client sent its request too slowly. HTTP 408. */
export const RequestTimeout = "CDP_ETL.REQUEST.TIMEOUT" as const

/** The request line and headers are over the server's limit (16 KB). HTTP 431. */
export const HeadersTooLarge = "CDP_ETL.REQUEST.HEADERS_TOO_LARGE" as const

/** The route exists but not with this HTTP method. HTTP 405. */
export const MethodNotAllowed = "CDP_ETL.REQUEST.METHOD_NOT_ALLOWED" as const

/** No object of that name in the workspace. HTTP 404. */
export const NotFoundObject = "CDP_ETL.NOT_FOUND.OBJECT" as const

/** No job of that id in the workspace (a job of another workspace answers the same). HTTP 404. */
export const NotFoundJob = "CDP_ETL.NOT_FOUND.JOB" as const

/** No stored record matches. HTTP 404. */
export const NotFoundRecord = "CDP_ETL.NOT_FOUND.RECORD" as const

/** No such route. HTTP 404. */
export const NotFoundRoute = "CDP_ETL.NOT_FOUND.ROUTE" as const

/** The bearer token is missing or unknown. HTTP 401. */
export const Unauthorized = "CDP_ETL.AUTH.UNAUTHORIZED" as const

/** The token lacks the scope the route needs. HTTP 403. */
export const Forbidden = "CDP_ETL.AUTH.FORBIDDEN" as const

/** The `Idempotency-Key` was already used with a different body. HTTP 422. */
export const IdempotencyKeyReused = "CDP_ETL.IDEMPOTENCY.KEY_REUSED" as const

/** A request with the same `Idempotency-Key` is still being handled. HTTP 409 with `Retry-After`. */
export const IdempotencyInProgress = "CDP_ETL.IDEMPOTENCY.IN_PROGRESS" as const

/** The token is over its rate limit. HTTP 429 with `Retry-After`. */
export const RateLimited = "CDP_ETL.RATE_LIMITED" as const

/** A schema change would change the type of an existing field. HTTP 409. */
export const ObjectConflict = "CDP_ETL.OBJECT.CONFLICT" as const

/** An unexpected failure inside the service. HTTP 500. */
export const InternalError = "CDP_ETL.SERVER.INTERNAL_ERROR" as const

/** The service cannot take the request now (storage unreachable, shutting down). HTTP 503. */
export const ServiceUnavailable = "CDP_ETL.SERVER.UNAVAILABLE" as const

/** The job itself could not be processed (its `failure.code`; row errors never fail a job). */
export const JobFailed = "CDP_ETL.JOB.FAILED" as const

/** Every error code, in the order above. */
export const all = [
  RequestInvalid,
  RequestSchema,
  PayloadTooLarge,
  UnsupportedMediaType,
  RequestTimeout,
  HeadersTooLarge,
  MethodNotAllowed,
  NotFoundObject,
  NotFoundJob,
  NotFoundRecord,
  NotFoundRoute,
  Unauthorized,
  Forbidden,
  IdempotencyKeyReused,
  IdempotencyInProgress,
  RateLimited,
  ObjectConflict,
  InternalError,
  ServiceUnavailable,
  JobFailed
] as const

/** Any batchwrite error code. */
export const ErrorCode = Schema.Literal(...all).annotations({
  identifier: "ErrorCode",
  description: "A batchwrite error code"
})

/** Any batchwrite error code. */
export type ErrorCode = typeof ErrorCode.Type

/** The codes a row error can carry. */
export const RowErrorCode = Schema.Literal(RequestInvalid, RequestSchema).annotations({
  identifier: "RowErrorCode",
  description: "The code of a row error"
})

/** The codes a row error can carry. */
export type RowErrorCode = typeof RowErrorCode.Type
