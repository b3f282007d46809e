/**
 * How many records the current request carried, for its log line: set by the batch handlers, read by the request
 * log once the response is ready.
 */
import { Context, Effect, Option } from "effect"

/** The record count of the current request, when a handler set one. */
export class RequestRecords extends Context.Tag("server/RequestRecords")<
  RequestRecords,
  { count: number | undefined }
>() {}

/** Notes the record count of the current request (nothing when no request log is listening). */
export const noteRecords = (count: number): Effect.Effect<void> =>
  Effect.map(Effect.serviceOption(RequestRecords), (cell) => {
    if (Option.isSome(cell)) cell.value.count = count
  })
