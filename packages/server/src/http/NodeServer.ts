/**
 * The `node:http` server under the service, with its limits set on purpose (SPEC §1.11): how long a connection may
 * idle, how long a request's headers and the whole request may take to arrive, and how often that is checked. What
 * Node's HTTP parser refuses before any route runs (conflicting or bad `Content-Length` / `Transfer-Encoding`,
 * headers or a URL over 16 KB, a request that arrives too slowly) is answered with the error envelope too, written
 * on the socket from the server's `clientError` event, instead of Node's bodiless 400 / 431 / 408.
 */
import { createServer, type Server, STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { type ApiError, HeadersTooLarge, RequestInvalid, RequestTimeout } from "@batchwrite/api"
import { failure } from "./Responses.js"

/**
 * How long an idle keep-alive connection stays open: 65 s, not Node's 5 s. A client that reuses a connection just
 * as the server closes it sees "socket closed" instead of an answer, and a busy event loop closes late, so with 5 s
 * that race hit clients sending again after a pause of a few seconds. (Load balancers keep connections 60 s.)
 */
export const keepAliveTimeoutMillis = 65_000

/** How long a request's headers may take to arrive, from its first byte: a client that stalls before its body. */
export const headersTimeoutMillis = 20_000

/**
 * How long a whole request (headers and body) may take to arrive, from its first byte: a 10 MB body needs about
 * 1.4 Mbit/s. A body trickled a byte at a time is cut off here with `408`, not held for minutes.
 */
export const requestTimeoutMillis = 60_000

/** How often connections are checked against the two timeouts above (Node's default is every 30 s). */
export const timeoutCheckMillis = 1_000

/**
 * How long a connection whose request the parser refused stays open after the answer, reading and throwing away
 * what the client still sends, so that the client reads the answer instead of a reset.
 */
const lingerMillis = 1_000

/** Node's HTTP parser's errors: `code` `HPE_…` (llhttp), or `ERR_HTTP_REQUEST_TIMEOUT`; `reason` in words. */
interface ClientError extends Error {
  readonly code?: string
  readonly reason?: string
}

/** How long a request may take to arrive, in milliseconds from its first byte. */
export interface RequestTimeouts {
  /** Until the end of its headers; default {@link headersTimeoutMillis}. */
  readonly headers: number
  /** Until the end of its body; default {@link requestTimeoutMillis}. */
  readonly request: number
}

/** The answer to a request Node refused, or `undefined` when there is none to give (the client went away). */
const answerOf = (error: ClientError, timeouts: RequestTimeouts): ApiError | undefined => {
  switch (error.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new RequestTimeout({
        message: `the request did not arrive in time (headers within ${timeouts.headers / 1_000} s, the whole request within ${timeouts.request / 1_000} s); send it again, in smaller batches on a slow link`
      })
    case "HPE_HEADER_OVERFLOW":
      return new HeadersTooLarge({
        message: "the request line and headers are over 16 KB; send a shorter URL and fewer or smaller headers"
      })
    default:
      if (error.code?.startsWith("HPE_") !== true) return undefined
      return new RequestInvalid({
        message: `the request is not valid HTTP/1.1: ${error.reason ?? error.message}`,
        details: { parserError: error.code }
      })
  }
}

/** The raw HTTP/1.1 text of an error envelope that closes the connection. */
const rawResponse = (error: ApiError): string => {
  const response = failure(error, { "content-type": "application/json; charset=utf-8", connection: "close" })
  const headers = { ...response.headers, "content-length": String(Buffer.byteLength(response.body)) }
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
  return `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status]}\r\n${lines.join("")}\r\n${response.body}`
}

/** Whether a response already started on the socket, so that nothing else may be written on it. */
const responseStarted = (socket: Duplex): boolean =>
  (socket as Duplex & { readonly _httpMessage?: { readonly headersSent?: boolean } })._httpMessage?.headersSent === true

/**
 * Answers what Node's parser refused with the envelope, where the protocol allows (no response started yet), and
 * closes the connection: at once for a timeout (the request in flight must not go on), after {@link lingerMillis}
 * for a malformed request (the rest of it is read and thrown away meanwhile).
 */
const answerClientError =
  (timeouts: RequestTimeouts) =>
  (error: ClientError, socket: Duplex): void => {
    // A connection already answered is read until it closes; each further byte fails the parser again.
    if (!socket.writable) return
    const answer = answerOf(error, timeouts)
    if (answer === undefined || responseStarted(socket)) {
      socket.destroy()
      return
    }
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // As Node does: the answer goes to the kernel at once, and the request in flight can no longer complete.
      socket.write(rawResponse(answer))
      socket.destroy()
      return
    }
    socket.end(rawResponse(answer))
    const linger = setTimeout(() => socket.destroy(), lingerMillis).unref()
    socket.once("close", () => clearTimeout(linger))
  }

/** A `node:http` server with the limits above, answering what its parser refuses with the error envelope. */
export const makeNodeServer = (
  settings: RequestTimeouts = { headers: headersTimeoutMillis, request: requestTimeoutMillis }
): Server => {
  // Node refuses a headers timeout longer than the whole request's.
  const timeouts = { headers: Math.min(settings.headers, settings.request), request: settings.request }
  const server = createServer({
    keepAliveTimeout: keepAliveTimeoutMillis,
    headersTimeout: timeouts.headers,
    requestTimeout: timeouts.request,
    connectionsCheckingInterval: timeoutCheckMillis
  })
  server.on("clientError", answerClientError(timeouts))
  return server
}
