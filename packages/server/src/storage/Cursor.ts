/**
 * Opaque page cursors of the paged reads (stored records, a job's row errors): base64url text naming the kind of
 * list and the position of the last item returned, so a cursor of one list is refused by another.
 */
import { Data, Effect, Option } from "effect"

/** The `cursor` a client sent is not one the service gave out for this list. */
export class InvalidCursor extends Data.TaggedError("InvalidCursor")<{
  readonly cursor: string
}> {
  override get message(): string {
    return `invalid cursor ${JSON.stringify(this.cursor.slice(0, 64))}: pass back the nextCursor of the previous page`
  }
}

/** The lists that page by cursor. */
export type CursorKind = "records" | "errors"

const prefixes: Record<CursorKind, string> = { records: "r", errors: "e" }

/** The cursor that continues a `kind` list after the item at `position` (a non-negative integer). */
export const encode = (kind: CursorKind, position: number): string =>
  Buffer.from(`${prefixes[kind]}${position}`, "utf8").toString("base64url")

const positionPattern = /^(0|[1-9][0-9]{0,15})$/

/**
 * The position a cursor continues after: `None` for no cursor (the first page), `InvalidCursor` for a cursor that
 * is not a `kind` cursor.
 */
export const decode = (
  kind: CursorKind,
  cursor: string | undefined
): Effect.Effect<Option.Option<number>, InvalidCursor> => {
  if (cursor === undefined) return Effect.succeed(Option.none())
  const text = /^[A-Za-z0-9_-]{1,32}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : ""
  const prefix = prefixes[kind]
  const digits = text.startsWith(prefix) ? text.slice(prefix.length) : ""
  const position = positionPattern.test(digits) ? Number(digits) : Number.NaN
  return Number.isSafeInteger(position) && encode(kind, position) === cursor
    ? Effect.succeed(Option.some(position))
    : Effect.fail(new InvalidCursor({ cursor }))
}
