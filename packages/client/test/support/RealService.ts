/**
 * The real batchwrite service for the client's integration tests: `Server.layer` on a free port of 127.0.0.1 over
 * a fresh SQLite file, with one token of every scope, and `RecordsClient` layers pointed at it (polling fast, so
 * the tests do not wait for the default 2 s).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Server } from "@batchwrite/server"
import { HttpServer } from "@effect/platform"
import { Context, Effect, Layer, Logger, LogLevel } from "effect"
import { pollPolicy, retryPolicy } from "../../src/Policies.js"
import { RecordsClient, type RecordsClientOptions } from "../../src/RecordsClient.js"

/** The token of the test workspace (every scope). */
export const token = "client-test-token-all-scopes"

/** The running service. */
export class RealService extends Context.Tag("test/RealService")<RealService, { readonly origin: string }>() {}

/** The service on a fresh SQLite file; build it with `excludeTestServices: true` (it runs on the live clock). */
export const layer: Layer.Layer<RealService> = Layer.scoped(
  RealService,
  Effect.gen(function* () {
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "batchwrite-client-"))),
      (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
    )
    const context = yield* Layer.build(
      Server.layer({
        port: 0,
        host: "127.0.0.1",
        database: { _tag: "Sqlite", filename: join(directory, "batchwrite.db") },
        workers: 2,
        tokens: [{ token, workspace: "alpha", scopes: ["records:write", "records:read", "admin"] }],
        rateLimit: { requestsPerSecond: 1_000, burst: 5_000 },
        objects: {},
        requestLog: false
      })
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("the service did not listen on TCP")
    return { origin: `http://127.0.0.1:${address.port}` }
  }).pipe(Effect.orDie, Logger.withMinimumLogLevel(LogLevel.Warning))
)

/** Options for tests: fast polling, short retries. */
export const testOptions = (baseUrl: string): RecordsClientOptions => ({
  baseUrl,
  token,
  poll: pollPolicy({ initial: "40 millis", factor: 1, cap: "40 millis" }),
  pollTimeout: "20 seconds",
  retry: retryPolicy({ base: "20 millis", cap: "200 millis", maxRetries: 4, maxElapsed: "10 seconds" }),
  requestTimeout: "10 seconds"
})

/** A `RecordsClient` on the real service, and the service. */
export const clientLayer = (overrides: Partial<RecordsClientOptions> = {}): Layer.Layer<RecordsClient | RealService> =>
  Layer.unwrapEffect(
    Effect.map(RealService, ({ origin }) =>
      RecordsClient.layer({ ...testOptions(`${origin}/public/v1`), ...overrides })
    )
  ).pipe(Layer.provideMerge(layer))
