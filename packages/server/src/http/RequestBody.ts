/**
 * Reading a request body safely (SPEC §1.5, §1.11): JSON content type only (415, and 415 for a declared charset
 * other than UTF-8), a size guard that answers 413 for a body declared too large, or one that grows too large,
 * without keeping it (the rest is read and thrown away, within bounds, so that the client reads the 413), gzip
 * decoded with an output cap so a gzip bomb cannot exhaust memory, and strict UTF-8 (400 for bytes that are not:
 * they used to be replaced by U+FFFD and stored altered). Yields the decoded body text, never re-serialized.
 */
import { gunzip } from "node:zlib"
import { PayloadTooLarge, RequestInvalid, UnsupportedMediaType } from "@batchwrite/api"
import { Limits } from "@batchwrite/core"
import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect } from "effect"
import { bodyWork } from "../services/BodyWork.js"

/** What reading a body can fail with. */
export type BodyRejected = PayloadTooLarge | UnsupportedMediaType | RequestInvalid

/**
 * 413 with the limit and the size seen. When the body was cut off (chunked, or a gzip stream that inflates past the
 * limit) the whole size is unknown: `size` is the bytes seen when reading stopped, and the message says "at least".
 */
const payloadTooLarge = (size: number, whole: boolean) =>
  new PayloadTooLarge({
    message: `request body of ${whole ? "" : "at least "}${size} bytes is over the limit of ${Limits.maxBodyBytes} bytes (measured after gzip is undone); split the batch (at most ${Limits.maxRecordsPerBatch} records and ${Limits.maxBodyBytes} bytes per request)`,
    limit: Limits.maxBodyBytes,
    size
  })

const isJsonContentType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase()
  return mediaType === "application/json" || (mediaType.startsWith("application/") && mediaType.endsWith("+json"))
}

/** The `charset` parameter of a content type, lower-cased and unquoted, when there is one. */
const charsetOf = (contentType: string): string | undefined => {
  for (const parameter of contentType.split(";").slice(1)) {
    const [name, value] = parameter.split("=", 2)
    if (name!.trim().toLowerCase() === "charset")
      return (value ?? "")
        .trim()
        .replace(/^"(.*)"$/, "$1")
        .toLowerCase()
  }
  return undefined
}

const unsupportedMediaType = (contentType: string | undefined) =>
  new UnsupportedMediaType({
    message: `the body must be JSON: send 'Content-Type: application/json' (got ${contentType === undefined ? "none" : `'${contentType}'`})`
  })

/** JSON is UTF-8 (RFC 8259): a body declared in another charset is refused rather than read as something else. */
const checkCharset = (contentType: string): Effect.Effect<void, UnsupportedMediaType> => {
  const charset = charsetOf(contentType)
  return charset === undefined || charset === "utf-8" || charset === "utf8"
    ? Effect.void
    : Effect.fail(
        new UnsupportedMediaType({
          message: `the body must be UTF-8 JSON: charset '${charset}' is not supported; send 'Content-Type: application/json; charset=utf-8' or no charset`
        })
      )
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** The text of UTF-8 bytes; a 400 for bytes that are not UTF-8, never a text with U+FFFD in their place. */
const decodeUtf8 = (bytes: Buffer): Effect.Effect<string, RequestInvalid> =>
  Effect.try({
    try: () => strictUtf8.decode(bytes),
    catch: () =>
      new RequestInvalid({
        message: "the body must be UTF-8: it holds bytes that are not valid UTF-8 (JSON text is UTF-8, RFC 8259)"
      })
  })

/** How much of a body over the limit is read and thrown away before the 413, so that the client reads the 413. */
export const drainLimitBytes = 4 * Limits.maxBodyBytes

/** How long a body over the limit is read and thrown away at most before the 413. */
export const drainTimeoutMillis = 10_000

/**
 * Reads and throws away the rest of a body over the limit, at most {@link drainLimitBytes} in all and
 * {@link drainTimeoutMillis}, then answers: a client still sending its body when the 413 and the connection's close
 * come sees a broken pipe instead of the 413 (and cannot halve its batch). Beyond the bounds the answer goes at once.
 */
const drainRest = (request: HttpServerRequest.HttpServerRequest, seen: number) =>
  Effect.async<void>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    if (incoming.complete || incoming.destroyed) return resume(Effect.void)
    let size = seen
    const done = () => {
      clearTimeout(timer)
      incoming.off("data", onData).off("end", done).off("error", done).off("aborted", done)
      resume(Effect.void)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > drainLimitBytes) done()
    }
    const timer = setTimeout(done, drainTimeoutMillis)
    incoming.on("data", onData).once("end", done).once("error", done).once("aborted", done)
    incoming.resume()
    return Effect.sync(done)
  })

/** The 413 of a body over the limit, once the rest of it is drained. */
const tooLarge = (request: HttpServerRequest.HttpServerRequest, size: number, whole: boolean, seen: number) =>
  Effect.zipRight(drainRest(request, seen), Effect.fail(payloadTooLarge(size, whole)))

const readRaw = (request: HttpServerRequest.HttpServerRequest, limit: number) =>
  Effect.async<Buffer, BodyRejected>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("aborted", onAborted)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        resume(tooLarge(request, size, false, size))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = (error: Error) => {
      cleanup()
      resume(Effect.fail(new RequestInvalid({ message: `could not read the body: ${error.message}` })))
    }
    const onAborted = () => onError(new Error("the client aborted the request"))
    incoming.on("data", onData).once("end", onEnd).once("error", onError).once("aborted", onAborted)
    return Effect.sync(cleanup)
  })

const gunzipCapped = (compressed: Buffer, limit: number) =>
  Effect.async<Buffer, BodyRejected>((resume) => {
    gunzip(compressed, { maxOutputLength: limit + 1 }, (error, result) => {
      if (error === null) {
        resume(result.length > limit ? Effect.fail(payloadTooLarge(result.length, false)) : Effect.succeed(result))
      } else if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        resume(Effect.fail(payloadTooLarge(limit + 1, false)))
      } else {
        resume(Effect.fail(new RequestInvalid({ message: `the gzip body is corrupt: ${error.message}` })))
      }
    })
  })

/**
 * The decoded body text of a JSON request, at most `limit` bytes after any `Content-Encoding: gzip` is undone.
 * Fails with 415 for another content type, a charset other than UTF-8 or an unknown encoding, 413 for a body over
 * the limit, 400 for a corrupt gzip stream or bytes that are not UTF-8.
 */
export const readJsonBody = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number = Limits.maxBodyBytes
): Effect.Effect<string, BodyRejected> =>
  Effect.gen(function* () {
    const contentType = request.headers["content-type"]
    if (!isJsonContentType(contentType)) return yield* Effect.fail(unsupportedMediaType(contentType))
    yield* checkCharset(contentType!)
    const encoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase()
    if (encoding !== "identity" && encoding !== "gzip") {
      return yield* Effect.fail(
        new UnsupportedMediaType({
          message: `unsupported Content-Encoding '${encoding}': send the body as is or gzip`
        })
      )
    }
    const declared = Number(request.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) return yield* tooLarge(request, declared, true, 0)
    const raw = yield* readRaw(request, limit)
    const decoded = encoding === "gzip" ? yield* gunzipCapped(raw, limit) : raw
    return yield* bodyWork(decoded.length, decodeUtf8(decoded))
  })
