/**
 * HTTP/1.1 over a bare TCP socket, for requests no HTTP client sends: conflicting `Content-Length`, a `;` or `#` in
 * the path as is, bytes that are not UTF-8, headers over Node's limit, a body trickled a byte at a time. The bytes
 * are written as given; the answer is read until the server closes the connection (or a whole response with a
 * `Content-Length` has arrived) and split into status, headers and body.
 */
import { connect } from "node:net"
import { Effect } from "effect"

/** A response as read from the socket; `status` 0 when the server closed without answering. */
export interface SocketResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const parseResponse = (raw: Buffer): SocketResponse | undefined => {
  const end = raw.indexOf("\r\n\r\n")
  if (end === -1) return undefined
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n")
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = raw.subarray(end + 4)
  const length = Number(headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(length) && body.length < length) return undefined
  return { status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") }
}

/** Options of {@link exchange}. */
export interface ExchangeOptions {
  /** Written after the request, one chunk per `trickleIntervalMs` (a slow client); default nothing. */
  readonly trickle?: ReadonlyArray<string | Buffer> | undefined
  readonly trickleIntervalMs?: number | undefined
  /** The longest the exchange may take before the socket is closed; default 30 s. */
  readonly timeoutMs?: number | undefined
}

/** Sends `request` (bytes as they are) to `origin` and reads the answer. */
export const exchange = (
  origin: string,
  request: string | Buffer,
  options: ExchangeOptions = {}
): Effect.Effect<SocketResponse> =>
  Effect.async<SocketResponse>((resume) => {
    const { hostname, port } = new URL(origin)
    const socket = connect(Number(port), hostname)
    const chunks: Array<Buffer> = []
    const trickle = [...(options.trickle ?? [])]
    let settled = false
    const finish = () => {
      if (settled) return
      settled = true
      clearInterval(trickler)
      clearTimeout(deadline)
      socket.destroy()
      resume(Effect.succeed(parseResponse(Buffer.concat(chunks)) ?? { status: 0, headers: {}, body: "" }))
    }
    const trickler = setInterval(() => {
      const next = trickle.shift()
      if (next !== undefined && socket.writable) socket.write(next)
    }, options.trickleIntervalMs ?? 1_000)
    const deadline = setTimeout(finish, options.timeoutMs ?? 30_000)
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      if (parseResponse(Buffer.concat(chunks)) !== undefined) finish()
    })
    socket.on("error", finish)
    socket.on("close", finish)
    socket.write(request)
    return Effect.sync(finish)
  })

/**
 * The text of a request: request line, headers (with `Host`, `Connection: close` and, for a body, its
 * `Content-Length`, unless given), blank line, body.
 */
export const requestText = (
  method: string,
  target: string,
  headers: Readonly<Record<string, string>>,
  body: string | Buffer = ""
): Buffer => {
  const length = body.length === 0 ? {} : { "content-length": String(Buffer.byteLength(body)) }
  const head = Object.entries({ host: "127.0.0.1", connection: "close", ...length, ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")
  return Buffer.concat([Buffer.from(`${method} ${target} HTTP/1.1\r\n${head}\r\n`, "latin1"), Buffer.from(body)])
}
