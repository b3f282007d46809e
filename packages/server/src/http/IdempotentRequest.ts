/**
 * `Idempotency-Key` on POSTs (SPEC §1.7): the header's syntax, and the wrapper that replays a stored response
 * byte for byte, refuses a reused key with another body (422) or a key still in flight (409), stores what a
 * request answered (never a 429 or a 5xx), and releases the key when the request dies.
 */
import { createHash } from "node:crypto"
import { ErrorCode } from "@batchwrite/core"
import { Effect, Either, Exit, Option } from "effect"
import { IdempotencyRepo, type IdempotencyScope } from "../IdempotencyRepo.js"
import { ApiFailure, requestInvalid } from "./ApiFailure.js"
import { failure, type TextResponse } from "./Responses.js"

/** What a handler answered, and whether it already stored the answer under the key (the 202 path does). */
export interface Handled {
  readonly response: TextResponse
  readonly stored: boolean
}

const visibleAscii = /^[\x21-\x7e]{1,255}$/
const sfString = /^"((?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/

/**
 * The key of an `Idempotency-Key` header: 1–255 visible ASCII characters, or an RFC 8941 quoted string of them.
 * No header is `None`; a malformed one is a 400 that says what a key must look like.
 */
export const parseIdempotencyKey = (header: string | undefined): Either.Either<Option.Option<string>, ApiFailure> => {
  if (header === undefined) return Either.right(Option.none())
  const trimmed = header.trim()
  const quoted = sfString.exec(trimmed)
  const key = quoted === null ? trimmed : quoted[1]!.replace(/\\(["\\])/g, "$1")
  return key.length >= 1 && key.length <= 255 && (quoted !== null || visibleAscii.test(key))
    ? Either.right(Option.some(key))
    : Either.left(
        requestInvalid("Idempotency-Key must be 1 to 255 visible ASCII characters (or an RFC 8941 quoted string)")
      )
}

/** The fingerprint of a decoded body: SHA-256 of its text. */
export const fingerprintOf = (body: string): string => createHash("sha256").update(body, "utf8").digest("hex")

const isStorable = (status: number) => status < 500 && status !== 429

/**
 * Runs `handle` under an idempotency key when the request has one. A failure of `handle` becomes its error
 * response here, so that it can be stored like any other answer.
 */
export const withIdempotency = <R>(
  scope: Option.Option<IdempotencyScope>,
  body: string,
  handle: Effect.Effect<Handled, ApiFailure, R>
): Effect.Effect<TextResponse, never, R | IdempotencyRepo> => {
  const answer = handle.pipe(
    Effect.catchAll((error) => Effect.succeed<Handled>({ response: failure(error), stored: false }))
  )
  if (Option.isNone(scope)) return Effect.map(answer, (handled) => handled.response)
  // Taking the key and arming its release are one step: an interruption while `begin` waits for the database (the
  // key may already be taken there) must not leave the key held until its lease runs out.
  return Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const repo = yield* IdempotencyRepo
      const begun = yield* repo.begin(scope.value, fingerprintOf(body))
      switch (begun._tag) {
        case "Replay":
          return { ...begun.response, headers: { ...begun.response.headers, "idempotent-replayed": "true" } }
        case "Mismatch":
          return failure(
            new ApiFailure({
              status: 422,
              code: ErrorCode.IdempotencyKeyReused,
              message: "this Idempotency-Key was used with a different body; use a new key for a different batch"
            })
          )
        case "InProgress":
          return failure(
            new ApiFailure({
              status: 409,
              code: ErrorCode.IdempotencyInProgress,
              message: "a request with this Idempotency-Key is still being handled; retry after a moment",
              details: { retryAfter: begun.retryAfterSeconds },
              headers: { "retry-after": String(begun.retryAfterSeconds) }
            })
          )
        case "Fresh":
          break
      }
      // On every exit, an interruption included (the client went away while the request was handled): a request
      // that ends without a storable answer frees its key at once, rather than holding it until its lease runs out.
      const handled = yield* Effect.onExit(restore(answer), (exit) =>
        Exit.isSuccess(exit) && isStorable(exit.value.response.status)
          ? exit.value.stored
            ? Effect.void
            : repo.complete(scope.value, exit.value.response)
          : repo.release(scope.value)
      )
      return handled.response
    })
  )
}
