/**
 * The JSON envelopes every `/public/v1` response is wrapped in (SPEC §1): `{"success": true, "data": …}` and
 * `{"success": false, "error": {"code", "message", "details"?}}`.
 */
import { Schema } from "effect"

/** The success envelope around a response's `data`. */
export const SuccessEnvelope = <Data extends Schema.Schema.Any>(data: Data) =>
  Schema.Struct({ success: Schema.Literal(true), data })

/** The success envelope around a value of type `Data`. */
export interface SuccessEnvelope<Data> {
  readonly success: true
  readonly data: Data
}

/** Wraps a response's data in the success envelope. */
export const makeSuccessEnvelope = <Data>(data: Data): SuccessEnvelope<Data> => ({ success: true, data })

/**
 * The `error` of an error envelope. `code` is one of `ErrorCode`; it is decoded as any string so that a client
 * never fails to read an error carrying a code it does not know yet. `details` is absent when there are none.
 */
export const ErrorBody = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true })
}).annotations({ identifier: "ErrorBody", description: "What went wrong: a code, a message and optional details" })

/** The `error` of an error envelope. */
export type ErrorBody = typeof ErrorBody.Type

/** The error envelope. */
export const ErrorEnvelope = Schema.Struct({
  success: Schema.Literal(false),
  error: ErrorBody
}).annotations({ identifier: "ErrorEnvelope", description: "The envelope of every error response" })

/** The error envelope. */
export type ErrorEnvelope = typeof ErrorEnvelope.Type

/** Builds an error envelope; `details` is left out when `undefined`. */
export const makeErrorEnvelope = (code: string, message: string, details?: unknown): ErrorEnvelope => ({
  success: false,
  error: details === undefined ? { code, message } : { code, message, details }
})
