/**
 * The request headers and query parameters the endpoints share: `Idempotency-Key` and `Prefer: wait=N` (header
 * keys in lower case, as `HttpApi` header schemas need them) and the `limit`/`cursor` of paged reads.
 */
import { Limits } from "@batchwrite/core"
import { Schema } from "effect"

/** The `Idempotency-Key` request header: 1–255 visible ASCII characters, or an RFC 8941 quoted string. */
export const IdempotencyKey = Schema.String.annotations({
  description:
    "1–255 visible ASCII characters (an RFC 8941 quoted string is accepted too). Same key and body within 24 " +
    "hours: the stored response is replayed byte for byte with `Idempotent-Replayed: true`. Bodies are compared " +
    "as canonical JSON (keys sorted, spacing ignored), so the same records sent again in other bytes are the same " +
    "body. Same key, other body: 422. Same key while the first request is in flight: 409 with `Retry-After`."
})

/** The `Prefer` request header; the service honours `wait=N` (N ≤ 30 seconds). */
export const Prefer = Schema.String.annotations({
  description:
    `RFC 7240. \`wait=N\` (N ≤ ${Limits.maxWaitSeconds} seconds) holds the response until the job is terminal ` +
    "or N seconds pass; when honoured the response carries `Preference-Applied: wait=N`."
})

/** The `Prefer` header value that asks the service to hold the response up to `seconds` (at most 30). */
export const preferWait = (seconds: number): string => `wait=${Math.max(0, Math.floor(seconds))}`

/** Headers of the batch POSTs: an optional `Idempotency-Key` and an optional `Prefer: wait=N`. */
export const BatchHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(IdempotencyKey),
  prefer: Schema.optional(Prefer)
})

/** Headers of the single-record POST: an optional `Idempotency-Key`. */
export const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(IdempotencyKey)
})

/** Headers of the job GET: an optional `Prefer: wait=N` (long polling). */
export const WaitHeaders = Schema.Struct({
  prefer: Schema.optional(Prefer)
})

/** The `limit` of a page: an integer from 1 to 1,000 (default 100), sent as text. */
export const PageLimit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, Limits.maxPageLimit)).annotations(
  {
    description: `Most items in the page, 1 to ${Limits.maxPageLimit}; default ${Limits.defaultPageLimit}`,
    jsonSchema: { type: "integer", minimum: 1, maximum: Limits.maxPageLimit, default: Limits.defaultPageLimit }
  }
)

/** The `cursor` of a page: the `nextCursor` of the previous page. */
export const PageCursor = Schema.String.annotations({
  description: "The nextCursor of the previous page; absent for the first page"
})

/** `?limit=&cursor=` of a paged read. */
export const PageParams = Schema.Struct({
  limit: Schema.optional(PageLimit),
  cursor: Schema.optional(PageCursor)
})

/**
 * `?limit=&cursor=&{matchKey}={value}` of `GET /records/{object}`: a page, optionally only the rows whose match key
 * has a value. Any other parameter is a filter `{field}={value}` (a number is sent as its text). The filters' values
 * admit `undefined` only so that the optional `limit` and `cursor` fit the index signature in the declarations
 * users compile against (TS2411 otherwise, whatever their `exactOptionalPropertyTypes`).
 */
export const ListRecordsParams = Schema.Struct(
  {
    limit: Schema.optional(PageLimit),
    cursor: Schema.optional(PageCursor)
  },
  Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.NumberFromString, Schema.Undefined) })
)
