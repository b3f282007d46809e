/**
 * The CPU work of request bodies (decoding, fingerprinting, parsing and checking up to 10 MB of JSON), done one
 * body step at a time, each step in a turn of the event loop of its own.
 *
 * Why: every such step is synchronous (tens of milliseconds for a 10 MB body), and fibers resumed by Effect's
 * scheduler run back to back in microtasks, so with many large bodies in flight the event loop went seconds without
 * reading a socket: `/healthz` waited up to 13 s under a flood of 10 MB bodies. Here a step waits for the event loop
 * to come round (`setImmediate`: sockets are polled first) and for the steps of other bodies before it, so an answer
 * that needs no body work waits at most about one step. One body at a time also bounds memory: the parsed form of
 * a body (several times its size) exists for one or two bodies at once, not for every body in flight. The steps
 * share one thread anyway, so doing them one after another costs no throughput.
 *
 * Bodies under {@link smallBodyBytes} skip the lane: their steps take well under a millisecond, and small requests
 * must not queue behind the steps of large ones. One lane per process, as there is one event loop.
 */
import { Effect } from "effect"
import { nextTurn } from "../EventLoop.js"

const lane = Effect.unsafeMakeSemaphore(1)

/** The size under which a body's steps run at once, outside the lane. */
export const smallBodyBytes = 256 * 1024

/**
 * Runs `step` (synchronous CPU work on a body of `bytes`) in a turn of its own, after the body steps queued before
 * it; at once for a small body.
 */
export const bodyWork = <A, E, R>(bytes: number, step: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  bytes < smallBodyBytes ? step : lane.withPermits(1)(Effect.zipRight(nextTurn, step))
