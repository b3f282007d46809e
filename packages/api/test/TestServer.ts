/**
 * A tiny HTTP server for the client tests: a plain `node:http` server on port 0 that records each request and
 * answers whatever the test told it to, byte for byte.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Layer } from "effect"

/** A request as the server saw it. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A canned response. */
export interface Reply {
  readonly status: number
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

/** The running server: its origin, the next reply, and the requests it saw. */
export class TestServer extends Context.Tag("test/TestServer")<
  TestServer,
  {
    readonly origin: string
    readonly reply: (reply: Reply) => Effect.Effect<void>
    readonly lastRequest: Effect.Effect<SeenRequest>
  }
>() {}

/** A JSON reply. */
export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json; charset=utf-8", ...headers }
})

/** Serves on 127.0.0.1, port 0, for the life of the layer. */
export const TestServerLive = Layer.scoped(
  TestServer,
  Effect.gen(function* () {
    let next: Reply = { status: 500, body: "no reply set" }
    const seen: Array<SeenRequest> = []
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        seen.push({
          method: request.method ?? "",
          url: request.url ?? "",
          headers: request.headers,
          body: Buffer.concat(chunks).toString("utf8")
        })
        response.writeHead(next.status, next.headers ?? {})
        response.end(next.body)
      })
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    return {
      origin: `http://127.0.0.1:${port}`,
      reply: (reply: Reply) =>
        Effect.sync(() => {
          next = reply
        }),
      lastRequest: Effect.sync(() => seen[seen.length - 1]!)
    }
  })
)
