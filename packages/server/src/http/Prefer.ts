/**
 * `Prefer: wait=N` (RFC 7240) on batch POSTs and job GETs (SPEC §1.5, §1.6): hold the response until the job is
 * terminal or N seconds pass, N at most 30.
 */
import { Limits } from "@batchwrite/core"
import { Option } from "effect"

/** The seconds to wait that a `Prefer` header asks for, capped at the limit; `None` when it asks for none. */
export const preferredWait = (prefer: string | undefined): Option.Option<number> => {
  if (prefer === undefined) return Option.none()
  for (const preference of prefer.split(",")) {
    const match = /^\s*wait\s*=\s*"?(\d+)"?\s*(;.*)?$/i.exec(preference)
    if (match !== null) return Option.some(Math.min(Number(match[1]), Limits.maxWaitSeconds))
  }
  return Option.none()
}
