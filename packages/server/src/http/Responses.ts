/**
 * JSON responses in the SPEC §1 envelopes, written once as text (so an idempotent replay can send the same bytes):
 * successes, and the error envelope of an api error with its status and headers.
 */
import { type ApiError, envelopeOf, responseHeadersOf, statusOf } from "@batchwrite/api"
import { Envelope } from "@batchwrite/core"
import { HttpServerResponse } from "@effect/platform"

/** A response as stored for idempotent replay: status, headers and the exact body text. */
export interface TextResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const jsonContentType = "application/json; charset=utf-8"

/** `{"success": true, "data": …}` with a status and headers. */
export const success = (status: number, data: unknown, headers: Record<string, string> = {}): TextResponse => ({
  status,
  headers,
  body: JSON.stringify(Envelope.makeSuccessEnvelope(data))
})

/** The error envelope of an api error, with its status and headers (`WWW-Authenticate`, `Retry-After`). */
export const failure = (error: ApiError, headers: Record<string, string> = {}): TextResponse => ({
  status: statusOf(error),
  headers: { ...responseHeadersOf(error), ...headers },
  body: JSON.stringify(envelopeOf(error))
})

/** The HTTP response of a text response. */
export const toHttp = (response: TextResponse) =>
  HttpServerResponse.text(response.body, {
    status: response.status,
    contentType: jsonContentType,
    headers: response.headers
  })

/** A `200` success as an HTTP response. */
export const ok = (data: unknown, headers?: Record<string, string>) => toHttp(success(200, data, headers))
