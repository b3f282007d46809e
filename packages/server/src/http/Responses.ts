/**
 * JSON responses in the SPEC §1 envelopes, written once as text (so an idempotent replay can send the same bytes).
 */
import { Envelope, ErrorCode } from "@batchwrite/core"
import { HttpServerResponse } from "@effect/platform"
import type { ApiFailure } from "./ApiFailure.js"

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

/** The error envelope of a failure. */
export const failure = (error: ApiFailure): TextResponse => ({
  status: error.status,
  headers: { ...error.headers, ...(error.status === 401 ? { "www-authenticate": 'Bearer realm="batchwrite"' } : {}) },
  body: JSON.stringify(Envelope.makeErrorEnvelope(error.code, error.message, error.details))
})

/** 500 without details: the cause goes to the log, never to the client. */
export const internalError: TextResponse = {
  status: 500,
  headers: {},
  body: JSON.stringify(
    Envelope.makeErrorEnvelope(ErrorCode.InternalError, "internal error; the request was not applied")
  )
}

/** The HTTP response of a text response, with extra headers (rate limits) merged in. */
export const toHttp = (response: TextResponse, extraHeaders: Record<string, string> = {}) =>
  HttpServerResponse.text(response.body, {
    status: response.status,
    contentType: jsonContentType,
    headers: { ...response.headers, ...extraHeaders }
  })
