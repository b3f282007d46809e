/**
 * Turns of the event loop for long synchronous work: fibers resumed by Effect's scheduler run back to back in
 * microtasks, so work split into steps still keeps sockets waiting unless each step waits for a turn of its own.
 */
import { Effect } from "effect"

/** Resumes in a later turn of the event loop, after the sockets that are ready were read (`setImmediate`). */
export const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const turn = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(turn))
})
