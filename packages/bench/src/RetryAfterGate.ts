/**
 * How a run honours `429` (and `503`): the first answer with `Retry-After` closes the gate for every connection
 * until that time has passed, so the service is never hammered while it asks for a pause.
 */
import { Effect } from "effect"

/** The gate every request of a run waits at. */
export interface RetryAfterGate {
  /** Waits until the gate is open. */
  readonly pass: Effect.Effect<void>
  /** Closes the gate for `seconds` from now (1 s when the answer had no `Retry-After`). */
  readonly hold: (seconds: number | undefined) => Effect.Effect<void>
  /** Milliseconds the gate has been held shut so far. */
  readonly heldMs: () => number
}

/** The seconds of a `Retry-After` header (delta seconds or an HTTP date); `undefined` when absent or unreadable. */
export const retryAfterSeconds = (header: string | undefined): number | undefined => {
  if (header === undefined) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

/** A new, open gate. */
export const makeGate = (): RetryAfterGate => {
  let openAt = 0
  let held = 0
  return {
    pass: Effect.suspend(() => {
      const wait = openAt - Date.now()
      return wait > 0 ? Effect.sleep(wait) : Effect.void
    }),
    hold: (seconds) =>
      Effect.sync(() => {
        const until = Date.now() + Math.max(0.05, seconds ?? 1) * 1000
        if (until > openAt) {
          held += until - Math.max(openAt, Date.now())
          openAt = until
        }
      }),
    heldMs: () => held
  }
}
