/**
 * How many records the current request carried, for its log line: set by the batch handlers, read by the request
 * log once the response is ready. Kept beside the request (by its Node request), not in the request's context: a
 * service provided per request copies the whole context, which a small batch's request paid for several times over.
 */
import { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"

const counts = new WeakMap<object, number>()

const keyOf = (request: HttpServerRequest.HttpServerRequest): object => request.source as object

/** Notes the record count of the current request. */
export const noteRecords = (count: number): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(HttpServerRequest.HttpServerRequest), (request) =>
    Effect.sync(() => {
      if (request._tag === "Some") counts.set(keyOf(request.value), count)
    })
  )

/** The record count a handler noted for `request`, if any. */
export const recordsOf = (request: HttpServerRequest.HttpServerRequest): number | undefined =>
  counts.get(keyOf(request))
