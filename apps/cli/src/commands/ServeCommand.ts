/**
 * `batchwrite serve`: runs the Records service (SPEC §1) on the embedded SQLite default, or on PostgreSQL where any
 * number of nodes share one database, until SIGINT or SIGTERM stops it gracefully (exit 0).
 */
import { Server, ServerConfig } from "@batchwrite/server"
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Config, Console, Duration, Effect, Either, Layer, Logger, Option, ParseResult, Redacted, Schema } from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { root } from "../Root.js"
import { signalEndsSuccessfully } from "../Shutdown.js"

const port = Options.integer("port").pipe(Options.withDefault(8787), Options.withDescription("Port to listen on"))
const host = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Address to listen on (0.0.0.0 for every interface)")
)
const database = Options.text("database").pipe(
  Options.withFallbackConfig(Config.string("BATCHWRITE_DATABASE")),
  Options.withDefault("sqlite:./batchwrite.db"),
  Options.withDescription(
    "Storage: sqlite:<file> (default sqlite:./batchwrite.db, one node) or postgres://user:password@host:port/db " +
      "(any number of nodes on one database); env BATCHWRITE_DATABASE"
  )
)
const poolSize = Options.integer("pool-size").pipe(
  Options.withDefault(10),
  Options.withDescription("PostgreSQL: the most connections this node opens (requests and workers share them)")
)
const jobLease = Options.integer("job-lease").pipe(
  Options.withDefault(30),
  Options.withDescription(
    "Seconds a worker holds a job without renewing its lease (renewed while it runs): how soon the jobs of a " +
      "node that died are taken over by the others"
  )
)
const requestLease = Options.integer("request-lease").pipe(
  Options.withDefault(60),
  Options.withDescription(
    "Seconds an Idempotency-Key stays in progress while its request runs: how soon the keys of requests in " +
      "flight on a node that died are free for retries"
  )
)
const config = Options.text("config").pipe(
  Options.optional,
  Options.withDescription("A JSON file with tokens (workspace, scopes, rate limit) and objects per workspace")
)
const workers = Options.integer("workers").pipe(
  Options.withDefault(2),
  Options.withDescription("Job workers processing accepted batches")
)
const rateLimit = Options.text("rate-limit").pipe(
  Options.optional,
  Options.withDescription("Requests per second per token, e.g. 100 or 100/s (burst: twice that)")
)
const quickStartToken = Config.option(Config.redacted("BATCHWRITE_TOKEN"))

const parseRateLimit = (text: string): Either.Either<ServerConfig.RateLimitSettings, UsageError> => {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text.trim())
  const perSecond = match === null ? Number.NaN : Number(match[1])
  return perSecond > 0
    ? Either.right({ requestsPerSecond: perSecond, burst: Math.max(1, Math.ceil(perSecond * 2)) })
    : Either.left(
        new UsageError({
          message: `--rate-limit must be a positive number of requests per second, like 100/s (got '${text}')`
        })
      )
}

const parseDatabase = (url: string, poolSize: number): Either.Either<Server.DatabaseSettings, UsageError> => {
  if (/^postgres(ql)?:\/\//.test(url)) {
    return poolSize >= 1
      ? Either.right({ _tag: "Postgres", url: Redacted.make(url), poolSize })
      : Either.left(new UsageError({ message: "--pool-size must be at least 1" }))
  }
  if (url.startsWith("sqlite:")) {
    const filename = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "")
    return filename.length > 0
      ? Either.right({ _tag: "Sqlite", filename })
      : Either.left(new UsageError({ message: "--database sqlite: needs a file, like sqlite:./batchwrite.db" }))
  }
  return Either.left(
    new UsageError({
      message: `--database must be sqlite:<file> or postgres://…, like sqlite:./batchwrite.db (got '${url.split("@").pop()}')`
    })
  )
}

const decodeConfigFile = Schema.decodeUnknownEither(Schema.parseJson(ServerConfig.ConfigFile), {
  onExcessProperty: "error"
})

const readConfigFile = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(path)
      .pipe(Effect.mapError(() => new UsageError({ message: `cannot read the config file ${path}` })))
    return yield* Either.mapLeft(
      decodeConfigFile(text),
      (error) =>
        new UsageError({
          message: `config file ${path} is invalid: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
        })
    )
  })

/** Why the service could not start, for a person. */
const startFailure = (
  error: { readonly _tag: string; readonly message?: string; readonly cause?: unknown },
  host: string,
  port: number
) => {
  const cause = String((error.cause as { code?: string } | undefined)?.code ?? "")
  if (error._tag === "ServeError" && cause === "EADDRINUSE") {
    return `port ${port} on ${host} is already in use: stop the other server or pick another --port`
  }
  return `the service could not start (${error._tag}): ${error.message ?? String(error.cause)}`
}

/** Every log line as JSON: in place of the runtime's pretty logger (or the default one). */
const jsonLogs = Layer.merge(
  Logger.replace(Logger.prettyLoggerDefault, Logger.jsonLogger),
  Logger.replace(Logger.defaultLogger, Logger.jsonLogger)
)

/** The `serve` command. */
export const serveCommand = Command.make(
  "serve",
  { port, host, database, poolSize, config, workers, rateLimit, jobLease, requestLease },
  (options) =>
    Effect.gen(function* () {
      const { json } = yield* root
      const storage = yield* parseDatabase(options.database, options.poolSize)
      const file = Option.isSome(options.config) ? yield* readConfigFile(options.config.value) : undefined
      const limit = Option.isSome(options.rateLimit) ? yield* parseRateLimit(options.rateLimit.value) : file?.rateLimit
      const token = yield* quickStartToken.pipe(Effect.orElseSucceed(() => Option.none()))
      const tokens = [
        ...Option.toArray(
          Option.map(token, (token) => ({
            token: Redacted.value(token),
            workspace: "default",
            scopes: ServerConfig.allScopes
          }))
        ),
        ...(file?.tokens ?? [])
      ]
      if (tokens.length === 0) {
        yield* Console.error(
          "batchwrite: no tokens configured, so every request will get 401: set BATCHWRITE_TOKEN or give --config"
        )
      }
      if (options.workers < 1) return yield* new UsageError({ message: "--workers must be at least 1" })
      if (options.jobLease < 1) return yield* new UsageError({ message: "--job-lease must be at least 1 second" })
      if (options.requestLease < 1) {
        return yield* new UsageError({ message: "--request-lease must be at least 1 second" })
      }
      signalEndsSuccessfully()
      yield* Layer.launch(
        Server.layer({
          port: options.port,
          host: options.host,
          database: storage,
          workers: options.workers,
          jobLease: Duration.seconds(options.jobLease),
          requestLease: Duration.seconds(options.requestLease),
          tokens,
          rateLimit: limit ?? ServerConfig.defaultRateLimit,
          objects: Server.objectsFromConfig(file?.objects ?? {}),
          requestLog: json ? "json" : "text"
        })
      ).pipe(
        Effect.mapError((error) => new WorkError({ message: startFailure(error, options.host, options.port) })),
        // With --json every line the service prints is JSON: its own log lines too.
        Effect.provide(json ? jsonLogs : Layer.empty)
      )
    })
).pipe(
  Command.withDescription(
    "Run the Records service on http://<host>:<port>/public/v1 until SIGINT or SIGTERM.\n" +
      "One log line per request on stdout (one JSON object per line with --json).\n" +
      "Example: BATCHWRITE_TOKEN=dev-secret-token batchwrite serve --port 8787 --workers 2\n" +
      "Several nodes: batchwrite serve --database postgres://batchwrite@db:5432/batchwrite --port 8787 (on each node)"
  )
)
