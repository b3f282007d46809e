/**
 * The errors that cross the wire (SPEC §1, §3). Each is a `Schema.TaggedError` carrying its HTTP status, paired with
 * its envelope schema: the schema whose type is the error class and whose encoded form is the SPEC error envelope
 * `{"success": false, "error": {"code": "CDP_ETL.…", "message": "…", "details": …}}`. Endpoints declare the
 * envelope schemas, so the typed client decodes each error body into its class, choosing between errors that share
 * a status by `error.code`; the server builds the same bodies with {@link envelopeOf}, {@link statusOf} and
 * {@link responseHeadersOf}.
 */
import { type Envelope, ErrorCode, Limits, ObjectSchema, RecordValidation, RowError } from "@batchwrite/core"
import { HttpApiSchema } from "@effect/platform"
import { Option, Schema } from "effect"

// ---------------------------------------------------------------------------------------------------------------
// The error classes
// ---------------------------------------------------------------------------------------------------------------

/** An error whose details are free-form: whatever the server puts in `error.details`, if anything. */
const freeDetails = {
  message: Schema.String,
  details: Schema.optional(Schema.Unknown)
}

/** The details of a `RequestInvalid` that says the batch has too many records. */
export const TooManyRecordsDetails = Schema.Struct({
  limit: Schema.NonNegativeInt,
  count: Schema.NonNegativeInt
}).annotations({ identifier: "TooManyRecordsDetails", description: "The record limit of a batch and the count sent" })

/** The details of a `RequestInvalid` that says the batch has too many records. */
export type TooManyRecordsDetails = typeof TooManyRecordsDetails.Type

/** The details of a `RequestInvalid` that rejects one record (`POST /records/{object}`): the row's errors. */
export const InvalidRecordDetails = Schema.Struct({
  errors: Schema.Array(RowError.RowError)
}).annotations({ identifier: "InvalidRecordDetails", description: "Every problem of the rejected record" })

/** The details of a `RequestInvalid` that rejects one record. */
export type InvalidRecordDetails = typeof InvalidRecordDetails.Type

const decodeTooManyRecords = Schema.decodeUnknownOption(TooManyRecordsDetails)
const decodeInvalidRecord = Schema.decodeUnknownOption(InvalidRecordDetails)

/**
 * `400 CDP_ETL.VALIDATION.REQUEST_INVALID`: the request is malformed (not JSON, no `records` array, no records, a
 * bad match key or query parameter; a record of a batch that is not an object is that row's error, not the request's), the batch has too many records (`details`:
 * {@link TooManyRecordsDetails}), or the one record of `POST /records/{object}` is invalid (`details`:
 * {@link InvalidRecordDetails}).
 */
export class RequestInvalid extends Schema.TaggedError<RequestInvalid>()(
  "RequestInvalid",
  freeDetails,
  HttpApiSchema.annotations({ status: 400 })
) {
  /** The error for a batch of `count` records, over `limit` (default 10,000). */
  static tooManyRecords(count: number, limit: number = Limits.maxRecordsPerBatch): RequestInvalid {
    return new RequestInvalid({
      message: `too many records: ${count}; a batch holds at most ${limit}`,
      details: { limit, count }
    })
  }

  /** The error for a rejected single record, with every problem of the row. */
  static invalidRecord(errors: ReadonlyArray<RowError.RowError>): RequestInvalid {
    const first = errors[0]?.message ?? "the record is invalid"
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? "s" : ""})` : ""
    return new RequestInvalid({ message: `invalid record: ${first}${more}`, details: { errors } })
  }

  /** The record limit and the count sent, when this error says the batch has too many records. */
  get tooManyRecords(): TooManyRecordsDetails | undefined {
    return Option.getOrUndefined(decodeTooManyRecords(this.details))
  }

  /** The row's errors, when this error rejects the one record of `POST /records/{object}`. */
  get rowErrors(): ReadonlyArray<RowError.RowError> | undefined {
    return Option.getOrUndefined(Option.map(decodeInvalidRecord(this.details), (details) => details.errors))
  }
}

/** A field that no record may carry, with the index of the first record that carries it (core's schema). */
export const UnknownField = RecordValidation.UnknownField

/** A field that no record may carry, with the index of the first record that carries it. */
export type UnknownField = RecordValidation.UnknownField

/**
 * `400 CDP_ETL.VALIDATION.REQUEST_SCHEMA`: records carry fields that are not on the object schema. `details`:
 * `{"unknownFields": [{"field", "firstIndex"}, …]}`, in order of first appearance.
 */
export class SchemaMismatch extends Schema.TaggedError<SchemaMismatch>()(
  "SchemaMismatch",
  { message: Schema.String, unknownFields: Schema.Array(UnknownField) },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** `401 CDP_ETL.AUTH.UNAUTHORIZED`: the bearer token is missing or unknown. Sent with `WWW-Authenticate: Bearer`. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  freeDetails,
  HttpApiSchema.annotations({ status: 401 })
) {}

/** `403 CDP_ETL.AUTH.FORBIDDEN`: the token lacks the scope the route needs. */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  freeDetails,
  HttpApiSchema.annotations({ status: 403 })
) {}

/** `404 CDP_ETL.NOT_FOUND.OBJECT`: no object of that name in the workspace. */
export class ObjectNotFound extends Schema.TaggedError<ObjectNotFound>()(
  "ObjectNotFound",
  freeDetails,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** `404 CDP_ETL.NOT_FOUND.JOB`: no job of that id in the workspace (another workspace's job answers the same). */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()(
  "JobNotFound",
  freeDetails,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** `404 CDP_ETL.NOT_FOUND.RECORD`: no stored record of that id. */
export class RecordNotFound extends Schema.TaggedError<RecordNotFound>()(
  "RecordNotFound",
  freeDetails,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** `404 CDP_ETL.NOT_FOUND.ROUTE`: no such route. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()(
  "RouteNotFound",
  freeDetails,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** `405 CDP_ETL.REQUEST.METHOD_NOT_ALLOWED`: the route exists, not with this method. Sent with `Allow`. */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  freeDetails,
  HttpApiSchema.annotations({ status: 405 })
) {}

/** `408 CDP_ETL.REQUEST.TIMEOUT`: the client sent its request body too slowly. Safe to retry. */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()(
  "RequestTimeout",
  freeDetails,
  HttpApiSchema.annotations({ status: 408 })
) {}

/**
 * `409 CDP_ETL.IDEMPOTENCY.IN_PROGRESS`: a request with the same `Idempotency-Key` is still being handled; retry
 * after `retryAfter` seconds (also in the `Retry-After` header). `details`: `{"retryAfter": n}`.
 */
export class IdempotencyInProgress extends Schema.TaggedError<IdempotencyInProgress>()(
  "IdempotencyInProgress",
  { message: Schema.String, retryAfter: Schema.NonNegativeInt },
  HttpApiSchema.annotations({ status: 409 })
) {}

/** A field whose type a schema change would change (core's schema). */
export const FieldTypeConflict = ObjectSchema.FieldTypeConflict

/** A field whose type a schema change would change. */
export type FieldTypeConflict = ObjectSchema.FieldTypeConflict

/**
 * `409 CDP_ETL.OBJECT.CONFLICT`: the new schema changes the type of existing fields. `details`:
 * `{"conflicts": [{"field", "previousType", "nextType"}, …]}`.
 */
export class ObjectConflict extends Schema.TaggedError<ObjectConflict>()(
  "ObjectConflict",
  { message: Schema.String, conflicts: Schema.Array(FieldTypeConflict) },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * `413 CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE`: the body is over `limit` bytes, measured after any gzip is undone;
 * `size` is the size seen (`Content-Length`, or the bytes read before stopping). `details`: `{"limit", "size"}`.
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { message: Schema.String, limit: Schema.NonNegativeInt, size: Schema.NonNegativeInt },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** `415 CDP_ETL.REQUEST.UNSUPPORTED_MEDIA_TYPE`: the `Content-Type` of the request is not JSON. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  freeDetails,
  HttpApiSchema.annotations({ status: 415 })
) {}

/** `422 CDP_ETL.IDEMPOTENCY.KEY_REUSED`: the `Idempotency-Key` was already used with a different body. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()(
  "IdempotencyKeyReused",
  freeDetails,
  HttpApiSchema.annotations({ status: 422 })
) {}

/**
 * `429 CDP_ETL.RATE_LIMITED`: the token is over its rate limit; retry after `retryAfter` seconds (also in the
 * `Retry-After` header). `details`: `{"retryAfter": n}`.
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()(
  "RateLimited",
  { message: Schema.String, retryAfter: Schema.NonNegativeInt },
  HttpApiSchema.annotations({ status: 429 })
) {}

/** `431 CDP_ETL.REQUEST.HEADERS_TOO_LARGE`: the request line and headers are over 16 KB. */
export class HeadersTooLarge extends Schema.TaggedError<HeadersTooLarge>()(
  "HeadersTooLarge",
  freeDetails,
  HttpApiSchema.annotations({ status: 431 })
) {}

/** `500 CDP_ETL.SERVER.INTERNAL_ERROR`: an unexpected failure inside the service. */
export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  freeDetails,
  HttpApiSchema.annotations({ status: 500 })
) {}

/** `503 CDP_ETL.SERVER.UNAVAILABLE`: the service cannot take the request now (storage down, shutting down). */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  freeDetails,
  HttpApiSchema.annotations({ status: 503 })
) {}

/** Any error that crosses the wire. */
export type ApiError =
  | RequestInvalid
  | SchemaMismatch
  | Unauthorized
  | Forbidden
  | ObjectNotFound
  | JobNotFound
  | RecordNotFound
  | RouteNotFound
  | MethodNotAllowed
  | RequestTimeout
  | IdempotencyInProgress
  | ObjectConflict
  | PayloadTooLarge
  | UnsupportedMediaType
  | IdempotencyKeyReused
  | RateLimited
  | HeadersTooLarge
  | InternalError
  | ServiceUnavailable

/** The four 404s. */
export type NotFound = ObjectNotFound | JobNotFound | RecordNotFound | RouteNotFound

// ---------------------------------------------------------------------------------------------------------------
// The envelope schemas
// ---------------------------------------------------------------------------------------------------------------

/**
 * The schema of one error on the wire: its type is the error class, its encoded form the error envelope with the
 * error's code. Carries the status (`HttpApiSchema` annotation) and, as properties, the code and status.
 */
export interface ErrorEnvelopeSchema<Self extends ApiError> extends Schema.Schema<Self, Envelope.ErrorEnvelope> {
  readonly code: ErrorCode.ErrorCode
  readonly status: number
  readonly tag: Self["_tag"]
}

interface ErrorClass<Self extends ApiError, Encoded> extends Schema.Schema<Self, Encoded> {
  new (props: never): Self
  readonly _tag: Self["_tag"]
}

/**
 * The envelope schema of an error class. `details` is the schema of `error.details`; `toDetails`/`fromDetails` move
 * the class's own fields (all but `message`) in and out of it.
 */
const envelopeSchema = <Self extends ApiError, Encoded>(
  Class: ErrorClass<Self, Encoded>,
  options: {
    readonly code: ErrorCode.ErrorCode
    readonly status: number
    readonly description: string
    readonly details: Schema.Schema.Any | Schema.PropertySignature.Any
    readonly toDetails: (self: Self) => unknown
    readonly fromDetails: (details: never) => object
  }
): ErrorEnvelopeSchema<Self> => {
  const encoded = Schema.Struct({
    success: Schema.Literal(false),
    error: Schema.Struct({
      code: Schema.Literal(options.code),
      message: Schema.String,
      details: options.details
    })
  }).annotations({ description: options.description })
  const schema = Schema.transform(encoded, Schema.typeSchema(Class), {
    strict: false,
    decode: (envelope: { readonly error: { readonly message: string; readonly details?: unknown } }) =>
      new Class({ ...options.fromDetails(envelope.error.details as never), message: envelope.error.message } as never),
    encode: (self: Self) => {
      const details = options.toDetails(self)
      return {
        success: false as const,
        error:
          details === undefined
            ? { code: options.code, message: self.message }
            : { code: options.code, message: self.message, details }
      }
    }
  }).annotations(HttpApiSchema.annotations({ status: options.status, description: options.description }))
  return Object.assign(schema, {
    code: options.code,
    status: options.status,
    tag: Class._tag
  }) as unknown as ErrorEnvelopeSchema<Self>
}

/** The envelope schema of an error whose `details` are free-form. */
const freeEnvelope = <Self extends ApiError & { readonly details?: unknown }, Encoded>(
  Class: ErrorClass<Self, Encoded>,
  code: ErrorCode.ErrorCode,
  status: number,
  description: string
): ErrorEnvelopeSchema<Self> =>
  envelopeSchema(Class, {
    code,
    status,
    description,
    details: Schema.optionalWith(Schema.Unknown, { exact: true }),
    toDetails: (self) => self.details,
    fromDetails: (details: unknown) => (details === undefined ? {} : { details })
  })

/** The envelope schema of an error whose fields (but `message`) are its `details` object. */
const structuredEnvelope = <Self extends ApiError, Encoded, Fields extends Schema.Struct.Fields>(
  Class: ErrorClass<Self, Encoded>,
  code: ErrorCode.ErrorCode,
  status: number,
  description: string,
  fields: Fields
): ErrorEnvelopeSchema<Self> => {
  const keys = Object.keys(fields)
  return envelopeSchema(Class, {
    code,
    status,
    description,
    details: Schema.Struct(fields).annotations({ identifier: `${Class._tag}Details` }),
    toDetails: (self) =>
      Object.fromEntries(keys.map((key) => [key, (self as unknown as Record<string, unknown>)[key]])),
    fromDetails: (details: object) => details
  })
}

/** `RequestInvalid` on the wire: `400 CDP_ETL.VALIDATION.REQUEST_INVALID`. */
export const RequestInvalidEnvelope = freeEnvelope(
  RequestInvalid,
  ErrorCode.RequestInvalid,
  400,
  "The request is malformed; or the batch has too many records (details: {limit, count}); or the record is " +
    "invalid (details: {errors: RowError[]})"
)

/** `SchemaMismatch` on the wire: `400 CDP_ETL.VALIDATION.REQUEST_SCHEMA`. */
export const SchemaMismatchEnvelope = structuredEnvelope(
  SchemaMismatch,
  ErrorCode.RequestSchema,
  400,
  "Records carry fields that are not on the object schema (details: {unknownFields: [{field, firstIndex}]})",
  { unknownFields: Schema.Array(UnknownField) }
)

/** `Unauthorized` on the wire: `401 CDP_ETL.AUTH.UNAUTHORIZED`. */
export const UnauthorizedEnvelope = freeEnvelope(
  Unauthorized,
  ErrorCode.Unauthorized,
  401,
  "The bearer token is missing or unknown"
)

/** `Forbidden` on the wire: `403 CDP_ETL.AUTH.FORBIDDEN`. */
export const ForbiddenEnvelope = freeEnvelope(
  Forbidden,
  ErrorCode.Forbidden,
  403,
  "The token lacks the scope this route needs"
)

/** `ObjectNotFound` on the wire: `404 CDP_ETL.NOT_FOUND.OBJECT`. */
export const ObjectNotFoundEnvelope = freeEnvelope(
  ObjectNotFound,
  ErrorCode.NotFoundObject,
  404,
  "No object of that name in the workspace"
)

/** `JobNotFound` on the wire: `404 CDP_ETL.NOT_FOUND.JOB`. */
export const JobNotFoundEnvelope = freeEnvelope(
  JobNotFound,
  ErrorCode.NotFoundJob,
  404,
  "No job of that id in the workspace"
)

/** `RecordNotFound` on the wire: `404 CDP_ETL.NOT_FOUND.RECORD`. */
export const RecordNotFoundEnvelope = freeEnvelope(
  RecordNotFound,
  ErrorCode.NotFoundRecord,
  404,
  "No stored record of that id"
)

/** `RouteNotFound` on the wire: `404 CDP_ETL.NOT_FOUND.ROUTE`. */
export const RouteNotFoundEnvelope = freeEnvelope(RouteNotFound, ErrorCode.NotFoundRoute, 404, "No such route")

/** `MethodNotAllowed` on the wire: `405 CDP_ETL.REQUEST.METHOD_NOT_ALLOWED`. */
export const MethodNotAllowedEnvelope = freeEnvelope(
  MethodNotAllowed,
  ErrorCode.MethodNotAllowed,
  405,
  "The route exists, not with this method"
)

/** `RequestTimeout` on the wire: `408 CDP_ETL.REQUEST.TIMEOUT`. */
export const RequestTimeoutEnvelope = freeEnvelope(
  RequestTimeout,
  ErrorCode.RequestTimeout,
  408,
  "The request body was sent too slowly"
)

/** `IdempotencyInProgress` on the wire: `409 CDP_ETL.IDEMPOTENCY.IN_PROGRESS`. */
export const IdempotencyInProgressEnvelope = structuredEnvelope(
  IdempotencyInProgress,
  ErrorCode.IdempotencyInProgress,
  409,
  "A request with the same Idempotency-Key is still being handled; retry after details.retryAfter seconds " +
    "(also the Retry-After header)",
  { retryAfter: Schema.NonNegativeInt }
)

/** `ObjectConflict` on the wire: `409 CDP_ETL.OBJECT.CONFLICT`. */
export const ObjectConflictEnvelope = structuredEnvelope(
  ObjectConflict,
  ErrorCode.ObjectConflict,
  409,
  "The new schema changes the type of existing fields (details: {conflicts: [{field, previousType, nextType}]})",
  { conflicts: Schema.Array(FieldTypeConflict) }
)

/** `PayloadTooLarge` on the wire: `413 CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE`. */
export const PayloadTooLargeEnvelope = structuredEnvelope(
  PayloadTooLarge,
  ErrorCode.PayloadTooLarge,
  413,
  "The body is over the limit, measured after any gzip is undone (details: {limit, size} in bytes)",
  { limit: Schema.NonNegativeInt, size: Schema.NonNegativeInt }
)

/** `UnsupportedMediaType` on the wire: `415 CDP_ETL.REQUEST.UNSUPPORTED_MEDIA_TYPE`. */
export const UnsupportedMediaTypeEnvelope = freeEnvelope(
  UnsupportedMediaType,
  ErrorCode.UnsupportedMediaType,
  415,
  "The Content-Type of the request is not JSON"
)

/** `IdempotencyKeyReused` on the wire: `422 CDP_ETL.IDEMPOTENCY.KEY_REUSED`. */
export const IdempotencyKeyReusedEnvelope = freeEnvelope(
  IdempotencyKeyReused,
  ErrorCode.IdempotencyKeyReused,
  422,
  "The Idempotency-Key was already used with a different body"
)

/** `RateLimited` on the wire: `429 CDP_ETL.RATE_LIMITED`. */
export const RateLimitedEnvelope = structuredEnvelope(
  RateLimited,
  ErrorCode.RateLimited,
  429,
  "The token is over its rate limit; retry after details.retryAfter seconds (also the Retry-After header)",
  { retryAfter: Schema.NonNegativeInt }
)

/** `HeadersTooLarge` on the wire: `431 CDP_ETL.REQUEST.HEADERS_TOO_LARGE`. */
export const HeadersTooLargeEnvelope = freeEnvelope(
  HeadersTooLarge,
  ErrorCode.HeadersTooLarge,
  431,
  "The request line and headers are over 16 KB"
)

/** `InternalError` on the wire: `500 CDP_ETL.SERVER.INTERNAL_ERROR`. */
export const InternalErrorEnvelope = freeEnvelope(
  InternalError,
  ErrorCode.InternalError,
  500,
  "An unexpected failure inside the service"
)

/** `ServiceUnavailable` on the wire: `503 CDP_ETL.SERVER.UNAVAILABLE`. */
export const ServiceUnavailableEnvelope = freeEnvelope(
  ServiceUnavailable,
  ErrorCode.ServiceUnavailable,
  503,
  "The service cannot take the request now (storage unreachable, shutting down)"
)

/** Every envelope schema, in status order. */
export const errorEnvelopes = [
  RequestInvalidEnvelope,
  SchemaMismatchEnvelope,
  UnauthorizedEnvelope,
  ForbiddenEnvelope,
  ObjectNotFoundEnvelope,
  JobNotFoundEnvelope,
  RecordNotFoundEnvelope,
  RouteNotFoundEnvelope,
  MethodNotAllowedEnvelope,
  RequestTimeoutEnvelope,
  IdempotencyInProgressEnvelope,
  ObjectConflictEnvelope,
  PayloadTooLargeEnvelope,
  UnsupportedMediaTypeEnvelope,
  IdempotencyKeyReusedEnvelope,
  RateLimitedEnvelope,
  HeadersTooLargeEnvelope,
  InternalErrorEnvelope,
  ServiceUnavailableEnvelope
] as const

/**
 * Any error envelope, decoded into its error class by `error.code` whatever the status: for bodies read outside the
 * typed client (a status an endpoint does not declare, a replayed response).
 */
export const AnyErrorEnvelope: Schema.Schema<ApiError, Envelope.ErrorEnvelope> = Schema.Union(...errorEnvelopes)

const byTag = new Map<string, ErrorEnvelopeSchema<ApiError>>(
  errorEnvelopes.map((schema) => [schema.tag, schema as unknown as ErrorEnvelopeSchema<ApiError>])
)

const byCode = new Map<string, ErrorEnvelopeSchema<ApiError>>(
  errorEnvelopes.map((schema) => [schema.code, schema as unknown as ErrorEnvelopeSchema<ApiError>])
)

const schemaOf = (error: ApiError): ErrorEnvelopeSchema<ApiError> => byTag.get(error._tag)!

/** The error envelope of an error, exactly as the service sends it. */
export const envelopeOf = (error: ApiError): Envelope.ErrorEnvelope => Schema.encodeSync(schemaOf(error))(error)

/** The HTTP status of an error. */
export const statusOf = (error: ApiError): number => schemaOf(error).status

/** The `error.code` of an error. */
export const codeOf = (error: ApiError): ErrorCode.ErrorCode => schemaOf(error).code

/** The HTTP status that goes with an error code, if it is the code of an error that crosses the wire. */
export const statusOfCode = (code: string): number | undefined => byCode.get(code)?.status

/**
 * The headers an error response carries besides `Content-Type` (names in lower case): `www-authenticate: Bearer
 * realm="batchwrite"` on a 401, `retry-after` (seconds) on a 429 and on a 409 `IN_PROGRESS`.
 */
export const responseHeadersOf = (error: ApiError): Readonly<Record<string, string>> => {
  switch (error._tag) {
    case "Unauthorized":
      return { "www-authenticate": 'Bearer realm="batchwrite"' }
    case "RateLimited":
    case "IdempotencyInProgress":
      return { "retry-after": String(error.retryAfter) }
    default:
      return {}
  }
}
