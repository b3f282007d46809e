/**
 * The soak's HTTP client: plain `node:http` on one keep-alive agent, so that hundreds of requests can be in flight
 * with bodies streamed from a generator (a 10 MB body is never held whole), and every answer read to its end.
 */
import { Agent, request } from "node:http"

/** An answer: status, the headers the checks read, and the body text. */
export interface Answer {
  readonly status: number
  readonly retryAfter: number | undefined
  readonly replayed: boolean
  readonly text: string
}

/** What to send. */
export interface Send {
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  /** The body: text, or chunks with their total length (streamed as generated). */
  readonly body?: string | Buffer | { readonly length: number; readonly chunks: () => Iterable<Buffer> }
  readonly timeoutMs?: number
}

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })

/** Sends one request to `origin`; rejects on a network error or a timeout. */
export const send = (origin: string, token: string, options: Send): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const url = new URL(options.path, origin)
    const body = options.body
    const length = body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.length
    const req = request(url, {
      method: options.method,
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(length) }),
        ...options.headers
      },
      timeout: options.timeoutMs ?? 120_000
    })
    req.on("timeout", () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 120_000} ms`)))
    req.on("error", reject)
    let sentAll = false
    req.on("response", (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", reject)
      response.on("end", () => {
        // Answered before the whole body was sent (a refusal from the headers): stop sending, drop the connection.
        if (!sentAll) req.destroy()
        const retryAfter = response.headers["retry-after"]
        resolve({
          status: response.statusCode ?? 0,
          retryAfter: retryAfter === undefined ? undefined : Number(retryAfter),
          replayed: response.headers["idempotent-replayed"] === "true",
          text: Buffer.concat(chunks).toString("utf8")
        })
      })
    })
    if (body === undefined || typeof body === "string" || Buffer.isBuffer(body)) {
      sentAll = true
      req.end(body)
      return
    }
    // Streamed: the next chunk once the socket took the last one; stops when the answer came early (a refusal).
    const chunks = body.chunks()[Symbol.iterator]()
    let answered = false
    req.once("response", () => {
      answered = true
    })
    const pump = () => {
      while (!answered) {
        const next = chunks.next()
        if (next.done === true) {
          sentAll = true
          req.end()
          return
        }
        if (!req.write(next.value)) {
          req.once("drain", pump)
          return
        }
      }
    }
    pump()
  })

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
