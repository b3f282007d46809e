/**
 * `Idempotency-Key` on POSTs (SPEC §1.7): the header's syntax, and the wrapper that replays a stored response
 * byte for byte, refuses a reused key with another body (422) or a key still in flight (409), stores what a
 * request answered (never a 429 or a 5xx), and releases the key when the request dies (when that release fails too,
 * `PendingKeyReleases` retries it, and a retry on this node frees the key at once).
 *
 * The wrapper owns the key from `begin` to its end. A request whose effect is itself stored (a batch: its job) asks
 * the wrapper to complete the key inside that transaction (`completeWithin`), so the effect and its answer commit
 * together; otherwise the wrapper stores the answer once the request is done.
 */
import { createHash } from "node:crypto"
import { type ApiError, IdempotencyInProgress, IdempotencyKeyReused, RequestInvalid } from "@batchwrite/api"
import { Data, Effect, Either, Exit, Option } from "effect"
import { bodyWork } from "../services/BodyWork.js"
import { PendingKeyReleases } from "../services/PendingKeyReleases.js"
import { IdempotencyRepo, type IdempotencyScope } from "../storage/IdempotencyRepo.js"
import { failure, type TextResponse } from "./Responses.js"

const visibleAscii = /^[\x21-\x7e]{1,255}$/
const sfString = /^"((?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/

/**
 * The key of an `Idempotency-Key` header: 1–255 visible ASCII characters, or an RFC 8941 quoted string of them.
 * No header is `None`; a malformed one is a 400 that says what a key must look like.
 */
export const parseIdempotencyKey = (
  header: string | undefined
): Either.Either<Option.Option<string>, RequestInvalid> => {
  if (header === undefined) return Either.right(Option.none())
  const trimmed = header.trim()
  const quoted = sfString.exec(trimmed)
  const key = quoted === null ? trimmed : quoted[1]!.replace(/\\(["\\])/g, "$1")
  return key.length >= 1 && key.length <= 255 && (quoted !== null || visibleAscii.test(key))
    ? Either.right(Option.some(key))
    : Either.left(
        new RequestInvalid({
          message: "Idempotency-Key must be 1 to 255 visible ASCII characters (or an RFC 8941 quoted string)"
        })
      )
}

const inOrder = (key: string, i: number, keys: ReadonlyArray<string>) => i === 0 || keys[i - 1]! <= key

/** `JSON.stringify`'s replacer that writes every object with its keys sorted (nothing else changes). */
export const sortedKeys = (_key: string, value: unknown): unknown => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value
  const keys = Object.keys(value)
  if (keys.every(inOrder)) return value
  // A null prototype: a "__proto__" key stays an ordinary property.
  const sorted: Record<string, unknown> = Object.create(null)
  for (const key of keys.sort()) sorted[key] = (value as Record<string, unknown>)[key]
  return sorted
}

/**
 * What {@link sortedKeys} makes of a parsed value, done before writing it: each object whose keys are out of order
 * replaced by the same sorted copy, in place. `JSON.stringify` without a replacer then writes the same text, without
 * calling back into JavaScript for every value (a third of the time for a 10 MB body).
 */
const sortKeysDeep = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = sortKeysDeep(value[i])
      if (item !== value[i]) value[i] = item
    }
    return value
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.every(inOrder)) {
    for (const key of keys) {
      const item = sortKeysDeep(record[key])
      if (item !== record[key]) record[key] = item
    }
    return record
  }
  // An ordinary object, which the writer writes fast; a null prototype only where a "__proto__" key must stay an
  // ordinary property.
  const sorted: Record<string, unknown> = keys.includes("__proto__") ? Object.create(null) : {}
  for (const key of keys.sort()) sorted[key] = sortKeysDeep(record[key])
  return sorted
}

/** The canonical text of JSON text: every object's keys sorted, no spacing; throws when `body` is not JSON. */
export const canonicalJson = (body: string): string => {
  const value: unknown = JSON.parse(body)
  try {
    return JSON.stringify(sortKeysDeep(value))
  } catch (error) {
    // Nesting deeper than this thread's stack: the native writer goes deeper.
    if (!(error instanceof RangeError)) throw error
    return JSON.stringify(JSON.parse(body), sortedKeys)
  }
}

/**
 * The fingerprint of a decoded body: SHA-256 of its JSON with every object's keys sorted and no spacing, so the same
 * logical request sent again in other bytes (another key order or spacing, as a client rebuilding a batch from its
 * queue sends it) is a replay, and any other records, record order or match key are a different body. Text that is
 * not JSON is fingerprinted as it is. The method and path are part of the key's scope already. (About 100 ms for a
 * 10 MB body of 10,000 records; the native parser and writer do most of the work.)
 */
export const fingerprintOf = (body: string): string => {
  let kind: string
  let canonical: string
  try {
    canonical = canonicalJson(body)
    kind = "json "
  } catch {
    canonical = body
    kind = "text "
  }
  // Two updates: the hash of `${kind}${canonical}` without copying the canonical text into a new string.
  return createHash("sha256").update(kind, "utf8").update(canonical, "utf8").digest("hex")
}

/** The transaction completing a key found it no longer held by its request (released, or taken over). */
export class IdempotencyKeyNotHeld extends Data.TaggedError("IdempotencyKeyNotHeld")<{
  readonly scope: IdempotencyScope
}> {
  override get message(): string {
    return `idempotency key ${JSON.stringify(this.scope.key)} is no longer held by this request; nothing was stored`
  }
}

/** What the wrapper lends the request: completing its key inside the request's own transaction. */
export interface HeldKey {
  /**
   * Stores `response` as the key's answer, in the caller's transaction; dies with {@link IdempotencyKeyNotHeld}
   * (rolling the transaction back) when the request no longer holds the key. Nothing without a key.
   */
  readonly completeWithin: (response: TextResponse) => Effect.Effect<void>
}

const isStorable = (status: number) => status < 500 && status !== 429

const withoutKey: HeldKey = { completeWithin: () => Effect.void }

/**
 * Runs `handle` under an idempotency key when the request has one. A failure of `handle` becomes its error
 * response here, so that it can be stored like any other answer.
 */
export const withIdempotency = <R>(
  scope: Option.Option<IdempotencyScope>,
  body: string,
  handle: (key: HeldKey) => Effect.Effect<TextResponse, ApiError, R>
): Effect.Effect<TextResponse, never, R | IdempotencyRepo | PendingKeyReleases> => {
  const answer = (key: HeldKey) => handle(key).pipe(Effect.catchAll((error) => Effect.succeed(failure(error))))
  if (Option.isNone(scope)) return answer(withoutKey)
  // Taking the key and arming its release are one step: an interruption while `begin` waits for the database (the
  // key may already be taken there) must not leave the key held until its lease runs out.
  // The fingerprint first (CPU work on the body, in its turn: `BodyWork`), while the request can still be dropped.
  return Effect.flatMap(
    bodyWork(
      body.length,
      Effect.sync(() => fingerprintOf(body))
    ),
    (fingerprint) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const repo = yield* IdempotencyRepo
          const releases = yield* PendingKeyReleases
          const first = yield* repo.begin(scope.value, fingerprint)
          // In progress because this node's earlier request with the key ended while its release failed: free it now.
          const begun =
            first._tag === "InProgress" && (yield* releases.releaseNow(scope.value))
              ? yield* repo.begin(scope.value, fingerprint)
              : first
          switch (begun._tag) {
            case "Replay":
              return { ...begun.response, headers: { ...begun.response.headers, "idempotent-replayed": "true" } }
            case "Mismatch":
              return failure(
                new IdempotencyKeyReused({
                  message: "this Idempotency-Key was used with a different body; use a new key for a different batch"
                })
              )
            case "InProgress":
              return failure(
                new IdempotencyInProgress({
                  message: "a request with this Idempotency-Key is still being handled; retry after a moment",
                  retryAfter: begun.retryAfterSeconds
                })
              )
            case "Fresh":
              break
          }
          let completed = false
          const held: HeldKey = {
            completeWithin: (response) =>
              Effect.flatMap(repo.completeHeld(scope.value, response), (isHeld) => {
                if (!isHeld) return Effect.die(new IdempotencyKeyNotHeld({ scope: scope.value }))
                completed = true
                return Effect.void
              })
          }
          // On every exit, an interruption included (the client went away while the request was handled): a request
          // that ends without a storable answer frees its key at once, rather than holding it until its lease runs out.
          return yield* Effect.onExit(restore(answer(held)), (exit) =>
            Exit.isSuccess(exit) && isStorable(exit.value.status)
              ? completed
                ? Effect.void
                : repo.complete(scope.value, exit.value)
              : releases.release(scope.value, begun.hold)
          )
        })
      )
  )
}
