/**
 * The typed errors of the client (SPEC §3), and how every failure met on the wire becomes one of them: the api
 * package's wire errors, `HttpClientError`s, statuses an endpoint does not declare, bodies that do not decode.
 * Errors the api package already models with the right shape (`RateLimited`, `PayloadTooLarge`, `SchemaMismatch`,
 * `Unauthorized`, `Forbidden`, `IdempotencyKeyReused`, `IdempotencyInProgress`) are re-exported as they are.
 */
import {
  AnyErrorEnvelope,
  type ApiError,
  codeOf,
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  PayloadTooLarge,
  RateLimited,
  ResponseHeaders,
  SchemaMismatch,
  statusOf,
  Unauthorized
} from "@batchwrite/api"
import { ErrorCode, Limits } from "@batchwrite/core"
import type { HttpClientError, HttpClientResponse } from "@effect/platform"
import { Effect, Either, type ParseResult, Predicate, Schema } from "effect"

export {
  Forbidden,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  PayloadTooLarge,
  RateLimited,
  SchemaMismatch,
  Unauthorized
}

/** `400 CDP_ETL.VALIDATION.REQUEST_INVALID` saying the batch holds more than `limit` records (`count`). */
export class TooManyRecords extends Schema.TaggedError<TooManyRecords>()("TooManyRecords", {
  message: Schema.String,
  limit: Schema.NonNegativeInt,
  count: Schema.NonNegativeInt
}) {}

/**
 * The request was refused as it is and retrying it will not help: a malformed body or parameter (400), a bad
 * match key, a content type (415), a method (405), an object schema conflict (409 `OBJECT.CONFLICT`), any other
 * 4xx the client has no better type for, or a URL the client cannot send to. `status` is absent when nothing was
 * sent.
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  code: Schema.optional(Schema.String),
  details: Schema.optional(Schema.Unknown)
}) {}

/** `404`: the object, job, record or route does not exist in the token's workspace. `code` says which. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String,
  code: Schema.optional(Schema.String)
}) {}

/**
 * The service could not take the request now (`408`, `5xx`), or answered something the contract does not allow
 * (then `status` is that answer's, for example a `202` whose body does not decode). Retried unless it is `501`,
 * `505` or not an error status. `retryAfter` (seconds) when the answer carried `Retry-After`.
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", {
  message: Schema.String,
  status: Schema.Number,
  code: Schema.optional(Schema.String),
  retryAfter: Schema.optional(Schema.NonNegativeInt)
}) {}

/**
 * No answer came back: the connection failed, was dropped mid-response, or the answer did not arrive within the
 * request timeout. The request may or may not have been handled; retrying with the same `Idempotency-Key` is safe.
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  message: Schema.String
}) {}

/** The job ended `failed`: the service could not process it (`code`, `message` from `failure`). */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  message: Schema.String,
  jobId: Schema.String,
  objectName: Schema.String,
  code: Schema.String
}) {}

/**
 * The job was not terminal within the polling timeout. The job is durable: `awaitJob(error)` resumes polling it
 * (the error carries `objectName` and `jobId`).
 */
export class JobTimeout extends Schema.TaggedError<JobTimeout>()("JobTimeout", {
  message: Schema.String,
  jobId: Schema.String,
  objectName: Schema.String
}) {}

/** Any failure of one request to the service. */
export type RequestError =
  | RateLimited
  | PayloadTooLarge
  | TooManyRecords
  | SchemaMismatch
  | InvalidRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | IdempotencyKeyReused
  | IdempotencyInProgress
  | ServerError
  | TransportError

/** Any failure the client reports: a request's, or a job's. */
export type RecordsClientError = RequestError | JobFailed | JobTimeout

/**
 * A failure no record is to blame for and that no retry or later record can fix: a wrong token (`Unauthorized`),
 * a token without the scope (`Forbidden`), an unknown object (`NotFound`). `write` and `RecordBuffer` fail with it
 * rather than dead-letter every record.
 */
export type ConfigurationError = Unauthorized | Forbidden | NotFound

/** Whether a failure is a {@link ConfigurationError}. */
export const isConfigurationError = (error: unknown): error is ConfigurationError =>
  Predicate.hasProperty(error, "_tag") &&
  (error._tag === "Unauthorized" || error._tag === "Forbidden" || error._tag === "NotFound")

/** The dead-letter code of records a closing buffer could not send before its `closeTimeout`. */
export const closeTimeoutCode = "CDP_ETL.CLIENT.CLOSE_TIMEOUT"

const notRetriedStatuses: ReadonlySet<number> = new Set([501, 505])

/**
 * Whether SPEC §3 allows retrying after this failure: `429`, `5xx` but `501`/`505`, `408`, `409` in progress and
 * transport errors; nothing else.
 */
export const isRetryable = (error: unknown): boolean => {
  if (!Predicate.hasProperty(error, "_tag")) return false
  switch (error._tag) {
    case "RateLimited":
    case "IdempotencyInProgress":
    case "TransportError":
      return true
    case "ServerError": {
      const status = (error as ServerError).status
      return status === 408 || (status >= 500 && status <= 599 && !notRetriedStatuses.has(status))
    }
    default:
      return false
  }
}

/** The least wait the service asked for before a retry, in seconds (`Retry-After`), if it asked. */
export const retryAfterOf = (error: unknown): number | undefined => {
  if (!Predicate.hasProperty(error, "_tag")) return undefined
  switch (error._tag) {
    case "RateLimited":
    case "IdempotencyInProgress":
    case "ServerError":
      return (error as RateLimited | IdempotencyInProgress | ServerError).retryAfter
    default:
      return undefined
  }
}

/** A wire error of the api package as the client's error. */
export const fromApiError = (error: ApiError, retryAfterHeader?: number): RequestError => {
  switch (error._tag) {
    case "RequestInvalid": {
      const tooMany = error.tooManyRecords
      return tooMany === undefined
        ? invalid(error.message, 400, codeOf(error), error.details)
        : new TooManyRecords({ message: error.message, limit: tooMany.limit, count: tooMany.count })
    }
    case "ObjectNotFound":
    case "JobNotFound":
    case "RecordNotFound":
    case "RouteNotFound":
      return new NotFound({ message: error.message, code: codeOf(error) })
    case "MethodNotAllowed":
    case "UnsupportedMediaType":
    case "HeadersTooLarge":
      return invalid(error.message, statusOf(error), codeOf(error), error.details)
    case "ObjectConflict":
      return invalid(error.message, 409, codeOf(error), { conflicts: error.conflicts })
    case "RequestTimeout":
    case "InternalError":
    case "ServiceUnavailable":
      return new ServerError({
        message: error.message,
        status: statusOf(error),
        code: codeOf(error),
        ...(retryAfterHeader === undefined ? {} : { retryAfter: retryAfterHeader })
      })
    case "RateLimited":
    case "IdempotencyInProgress":
      return retryAfterHeader === undefined || retryAfterHeader === error.retryAfter
        ? error
        : error._tag === "RateLimited"
          ? new RateLimited({ message: error.message, retryAfter: retryAfterHeader })
          : new IdempotencyInProgress({ message: error.message, retryAfter: retryAfterHeader })
    default:
      return error
  }
}

const invalid = (
  message: string,
  status: number | undefined,
  code: string | undefined,
  details: unknown
): InvalidRequest =>
  new InvalidRequest({
    message,
    ...(status === undefined ? {} : { status }),
    ...(code === undefined ? {} : { code }),
    ...(details === undefined ? {} : { details })
  })

/**
 * `Retry-After` in whole seconds: delta-seconds, or an HTTP date (seconds from now, at least 0). `undefined` when
 * absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, now: number = Date.now()): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10)
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

const decodeEnvelope = Schema.decodeUnknownEither(Schema.parseJson(AnyErrorEnvelope))

/**
 * The error of a response with an error status, from its status, headers and body text: the wire error the body
 * holds when it is an error envelope, else what the status means. `sentBytes` is the body size sent, for a `413`
 * without an envelope.
 */
export const fromErrorResponse = (
  status: number,
  headers: Readonly<Record<string, string>>,
  text: string,
  sentBytes = 0
): RequestError => {
  const retryAfter = parseRetryAfter(headers[ResponseHeaders.retryAfter])
  const decoded = decodeEnvelope(text)
  if (Either.isRight(decoded)) return fromApiError(decoded.right, retryAfter)
  const message = `the service answered ${status}${text.length > 0 ? `: ${text.slice(0, 200)}` : ""}`
  switch (status) {
    case 401:
      return new Unauthorized({ message })
    case 403:
      return new Forbidden({ message })
    case 404:
      return new NotFound({ message })
    case 409:
      return retryAfter === undefined
        ? invalid(message, 409, undefined, undefined)
        : new IdempotencyInProgress({ message, retryAfter })
    case 413:
      return new PayloadTooLarge({ message, limit: Limits.maxBodyBytes, size: sentBytes })
    case 422:
      return new IdempotencyKeyReused({ message })
    case 429:
      return new RateLimited({ message, retryAfter: retryAfter ?? 1 })
    default:
      return status >= 400 && status < 500 && status !== 408
        ? invalid(message, status, undefined, undefined)
        : new ServerError({ message, status, ...(retryAfter === undefined ? {} : { retryAfter }) })
  }
}

/** A success status whose body does not decode: the service broke the contract. */
export const malformedResponse = (status: number, cause: unknown): ServerError =>
  new ServerError({
    message: `the service answered ${status} with a body that does not decode: ${describe(cause)}`,
    status
  })

const messageOf = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

/**
 * A cause for a message. fetch's own is only "fetch failed": the system's reason (`ECONNREFUSED`, `ENOTFOUND`) is
 * in its `cause`, so that is added.
 */
const describe = (cause: unknown): string => {
  const inner = Predicate.hasProperty(cause, "cause") ? cause.cause : undefined
  const code = Predicate.hasProperty(inner, "code") && typeof inner.code === "string" ? inner.code : undefined
  return code === undefined ? messageOf(cause) : `${messageOf(cause)}: ${messageOf(inner)}`
}

/**
 * The error of a failed HTTP exchange: a failed connection or a body cut off is a `TransportError`, a bad URL an
 * `InvalidRequest`, a status no endpoint declares is read from its response.
 */
export const fromHttpClientError = (error: HttpClientError.HttpClientError): Effect.Effect<never, RequestError> => {
  if (error._tag === "RequestError") {
    return error.reason === "Transport"
      ? Effect.fail(new TransportError({ message: `${error.methodAndUrl}: ${describe(error.cause ?? error.message)}` }))
      : Effect.fail(invalid(`${error.methodAndUrl}: ${error.message}`, undefined, undefined, undefined))
  }
  // A body that could not be read is a broken connection; a "Decode" without a cause is an undeclared status.
  if (error.cause !== undefined || error.reason === "EmptyBody") {
    return Effect.fail(
      new TransportError({ message: `${error.methodAndUrl}: ${describe(error.cause ?? error.message)}` })
    )
  }
  return readErrorResponse(error.response)
}

/** The error of a response whose status the endpoint does not declare, read from its body. */
export const readErrorResponse = (
  response: HttpClientResponse.HttpClientResponse,
  sentBytes = 0
): Effect.Effect<never, RequestError> =>
  response.text.pipe(
    Effect.mapError(
      (cause) => new TransportError({ message: `reading the ${response.status} response: ${describe(cause)}` })
    ),
    Effect.flatMap((text) =>
      response.status >= 200 && response.status < 300
        ? Effect.fail(malformedResponse(response.status, "unexpected status"))
        : Effect.fail(fromErrorResponse(response.status, response.headers, text, sentBytes))
    )
  )

/**
 * Maps whatever a typed-client call can fail with (a wire error, an `HttpClientError`, a `ParseError` of a success
 * body) to the client's errors.
 */
export const fromCallError = (
  error: ApiError | HttpClientError.HttpClientError | ParseResult.ParseError
): Effect.Effect<never, RequestError> => {
  switch (error._tag) {
    case "RequestError":
    case "ResponseError":
      return fromHttpClientError(error)
    case "ParseError":
      return Effect.fail(malformedResponse(200, error))
    default:
      return Effect.fail(fromApiError(error))
  }
}

/**
 * The error code of a failure, for a dead-letter entry: the wire code when the service sent one (or the code its
 * status stands for), else a client code `CDP_ETL.CLIENT.…` (`TRANSPORT`, `JOB_TIMEOUT`).
 */
export const errorCodeOf = (error: RecordsClientError): string => {
  switch (error._tag) {
    case "RateLimited":
      return ErrorCode.RateLimited
    case "PayloadTooLarge":
      return ErrorCode.PayloadTooLarge
    case "TooManyRecords":
      return ErrorCode.RequestInvalid
    case "SchemaMismatch":
      return ErrorCode.RequestSchema
    case "InvalidRequest":
      return error.code ?? ErrorCode.RequestInvalid
    case "Unauthorized":
      return ErrorCode.Unauthorized
    case "Forbidden":
      return ErrorCode.Forbidden
    case "NotFound":
      return error.code ?? ErrorCode.NotFoundObject
    case "IdempotencyKeyReused":
      return ErrorCode.IdempotencyKeyReused
    case "IdempotencyInProgress":
      return ErrorCode.IdempotencyInProgress
    case "ServerError":
      return (
        error.code ??
        (error.status === 408
          ? ErrorCode.RequestTimeout
          : error.status === 503
            ? ErrorCode.ServiceUnavailable
            : ErrorCode.InternalError)
      )
    case "TransportError":
      return "CDP_ETL.CLIENT.TRANSPORT"
    case "JobFailed":
      return error.code
    case "JobTimeout":
      return "CDP_ETL.CLIENT.JOB_TIMEOUT"
  }
}
