/**
 * A small fault-injecting HTTP server for the client's tests (`node:http` on a free port): each test sets how it
 * answers (an error status with `Retry-After`, a 413 above a byte threshold, a connection destroyed mid-response,
 * a slow answer, or the real service's answer through {@link FaultServer.forward}) and reads back every request
 * it saw, headers and body included.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

/** A request as the fault server saw it. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/** An answer from upstream. */
export interface Upstream {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** How to answer the `attempt`-th request (0-based). */
export type Handler = (request: SeenRequest, response: ServerResponse, attempt: number) => void | Promise<void>

/** The running fault server. */
export interface FaultServer {
  readonly origin: string
  /** Every request seen since the last `reset`. */
  readonly requests: Array<SeenRequest>
  /** Sets the handler and forgets the requests seen. */
  readonly reset: (handler: Handler) => void
  /** The real service's answer to the same request (`upstream` origin). */
  readonly forward: (upstream: string, request: SeenRequest) => Promise<Upstream>
}

/** Answers JSON. */
export const json = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}

/** Answers what upstream answered. */
export const relay = (response: ServerResponse, upstream: Upstream): void => {
  response.writeHead(upstream.status, { "content-type": upstream.headers["content-type"] ?? "application/json" })
  response.end(upstream.body)
}

/** The fault server, closed with the scope. */
export const make: Effect.Effect<FaultServer, never, import("effect").Scope.Scope> = Effect.acquireRelease(
  Effect.async<FaultServer>((resume) => {
    const requests: Array<SeenRequest> = []
    let handler: Handler = (_request, response) => json(response, 500, { error: "no handler" })
    const server = createServer((incoming, response) => {
      const chunks: Array<Buffer> = []
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk))
      incoming.on("end", () => {
        const seen: SeenRequest = {
          method: incoming.method ?? "GET",
          url: incoming.url ?? "/",
          headers: incoming.headers,
          body: Buffer.concat(chunks).toString("utf8")
        }
        const attempt = requests.push(seen) - 1
        Promise.resolve(handler(seen, response, attempt)).catch(() => response.destroy())
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(
        Effect.succeed({
          origin: `http://127.0.0.1:${port}`,
          requests,
          reset: (next) => {
            requests.length = 0
            handler = next
          },
          forward: async (upstream, request) => {
            const headers: Record<string, string> = {}
            for (const name of ["authorization", "content-type", "idempotency-key", "prefer"]) {
              const value = request.headers[name]
              if (typeof value === "string") headers[name] = value
            }
            const answer = await fetch(`${upstream}${request.url}`, {
              method: request.method,
              headers,
              ...(request.method === "GET" ? {} : { body: request.body })
            })
            const responseHeaders: Record<string, string> = {}
            answer.headers.forEach((value, name) => {
              responseHeaders[name] = value
            })
            return { status: answer.status, headers: responseHeaders, body: await answer.text() }
          },
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        } as FaultServer & { close: () => void })
      )
    })
  }),
  (server) =>
    Effect.sync(() => {
      ;(server as FaultServer & { close: () => void }).close()
    })
)
