/**
 * Serving with a graceful stop (SPEC §1.10). On shutdown the node stops accepting connections, lets every request
 * in flight finish (including requests that arrive meanwhile on open connections, answered with
 * `Connection: close`), closes idle connections after a grace period, and only then removes its request handler. The
 * platform's own finalizer removes the handler and interrupts in-flight requests first, which would reset them
 * and leave late requests unanswered.
 */
import type * as Http from "node:http"
import * as Net from "node:net"
import { type HttpApp, HttpMiddleware, HttpServer, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, type Scope } from "effect"

/** The longest a stop waits for requests in flight before closing every connection. */
export const drainTimeout: Duration.Duration = Duration.seconds(35)

/** A stop keeps accepting until no connection arrived for this long (connections the kernel already queued). */
const acceptQuiet = 200

/** ... but at most this long. */
const acceptGraceMax = 2_000

/** How long a connection may sit without a request, once the listener is closed, before it is closed. */
const idleGrace = 1_000

/**
 * Stops accepting connections and waits until every connection is closed: those with a request in flight close
 * after their response (`Connection: close`); idle keep-alive connections are closed after a grace period.
 *
 * Two details matter. The listener is closed only once no connection arrived for `acceptQuiet`: connections the
 * kernel accepted while the event loop was busy would otherwise be reset, requests and all. And only the listening
 * socket is closed (`net.Server`): Node's `http.Server.close()` destroys at once every connection without a
 * request parsed yet, which resets requests whose bytes are still unread.
 */
const closeWhenDrained = (server: Http.Server, timeout: Duration.Duration) =>
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    const started = Date.now()
    let lastConnection = started
    const onConnection = () => {
      lastConnection = Date.now()
    }
    server.on("connection", onConnection)
    let sweep: ReturnType<typeof setInterval> | undefined
    const deadline = setTimeout(() => server.closeAllConnections(), Duration.toMillis(timeout))
    const closeListener = () => {
      server.off("connection", onConnection)
      Net.Server.prototype.close.call(server, () => {
        clearInterval(sweep)
        clearTimeout(deadline)
        resume(Effect.void)
      })
      sweep = setInterval(() => {
        // In the check phase, after this turn's I/O: a connection whose request arrived while the event loop was
        // busy has it parsed by then, and is not idle.
        if (Date.now() - lastConnection >= idleGrace) setImmediate(() => server.closeIdleConnections())
      }, 100)
    }
    const quiet = () => {
      const now = Date.now()
      return now - lastConnection >= acceptQuiet || now - started >= acceptGraceMax
    }
    // Timers run before a turn's I/O: after a busy stretch, connections the kernel queued are accepted in the poll
    // phase that follows, so look again in the check phase before closing the listener.
    const waitForQuiet = () => {
      const check = setInterval(() => {
        if (!quiet()) return
        clearInterval(check)
        setImmediate(() => (quiet() ? closeListener() : waitForQuiet()))
      }, 50)
    }
    waitForQuiet()
  })

/** Serves `app` on the `HttpServer` backed by `server`, stopping gracefully when the scope closes. */
export const serveGracefully = <E, R>(
  server: Http.Server,
  app: HttpApp.Default<E, R>
): Effect.Effect<void, never, HttpServer.HttpServer | Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    let draining = false
    const markClosing = HttpMiddleware.make((inner) =>
      Effect.map(inner, (response) =>
        draining ? HttpServerResponse.setHeader(response, "connection", "close") : response
      )
    )
    // No span per request: the service exports no traces, and the platform's request span (the URL parsed, every
    // header an attribute, a parent span provided) was 48 of the 154 KB a `/healthz` request allocated.
    yield* HttpServer.serveEffect(app, markClosing).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))
    // Added after the platform's finalizer, so it runs before it.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        draining = true
        return closeWhenDrained(server, drainTimeout)
      })
    )
  }) as Effect.Effect<void, never, HttpServer.HttpServer | Scope.Scope | Exclude<R, Scope.Scope>>
