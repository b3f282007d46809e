/**
 * The `limit` query parameter of paged reads: a whole number from 1 to the endpoint's maximum.
 */
import { Limits } from "@batchwrite/core"
import { Effect } from "effect"
import { type ApiFailure, requestInvalid } from "./ApiFailure.js"

/** The page size asked for, or the default; a bad value is a 400 that names the range. */
export const pageLimit = (value: string | null, max: number): Effect.Effect<number, ApiFailure> => {
  if (value === null) return Effect.succeed(Math.min(Limits.defaultPageLimit, max))
  const limit = Number(value)
  return Number.isInteger(limit) && limit >= 1 && limit <= max
    ? Effect.succeed(limit)
    : Effect.fail(requestInvalid(`limit must be a whole number from 1 to ${max}, got '${value}'`, { max }))
}

/** A cursor that is not one this service handed out: a 400. */
export const invalidCursor = () =>
  requestInvalid("cursor is not valid: pass the nextCursor of the previous page unchanged, or none for the first page")
