/**
 * A request that ends in an error envelope (SPEC §1): its status, `CDP_ETL` code, message, details and extra
 * headers. Handlers fail with it; the router turns it into the response.
 */
import { ErrorCode, Limits } from "@batchwrite/core"
import { Data } from "effect"

/** An error response of the service. */
export class ApiFailure extends Data.TaggedError("ApiFailure")<{
  readonly status: number
  readonly code: string
  readonly message: string
  readonly details?: unknown
  readonly headers?: Readonly<Record<string, string>>
}> {}

/** 400 `REQUEST_INVALID`. */
export const requestInvalid = (message: string, details?: unknown) =>
  new ApiFailure({ status: 400, code: ErrorCode.RequestInvalid, message, details })

/** 404 for a missing object, job or record (a foreign one looks exactly the same). */
export const notFound = (code: string, message: string) => new ApiFailure({ status: 404, code, message })

/** 404 `NOT_FOUND.OBJECT`. */
export const objectNotFound = (objectName: string) =>
  notFound(ErrorCode.NotFoundObject, `object '${objectName}' does not exist in this workspace`)

/**
 * 413 with the limit and the size seen. When the body was cut off (chunked, or a gzip stream that inflates past the
 * limit) the whole size is unknown: `size` is the bytes seen when reading stopped, and the message says "at least".
 */
export const payloadTooLarge = (size: number, whole: boolean) =>
  new ApiFailure({
    status: 413,
    code: ErrorCode.PayloadTooLarge,
    message: `request body of ${whole ? "" : "at least "}${size} bytes is over the limit of ${Limits.maxBodyBytes} bytes (measured after gzip is undone); split the batch (at most ${Limits.maxRecordsPerBatch} records and ${Limits.maxBodyBytes} bytes per request)`,
    details: { limit: Limits.maxBodyBytes, size },
    // The rest of the body is not read: close the connection instead of draining it.
    headers: { connection: "close" }
  })

/** 403 `AUTH.FORBIDDEN`. */
export const forbidden = (scope: string) =>
  new ApiFailure({
    status: 403,
    code: ErrorCode.Forbidden,
    message: `this token lacks the '${scope}' scope`,
    details: { requiredScope: scope }
  })
