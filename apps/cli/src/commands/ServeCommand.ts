/**
 * `batchwrite serve`: runs the Records service (SPEC §1) on the embedded SQLite default, or on PostgreSQL where any
 * number of nodes share one database, until SIGINT or SIGTERM stops it gracefully (exit 0).
 */
import { Server, ServerConfig } from "@batchwrite/server"
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import {
  Config,
  Console,
  Duration,
  Effect,
  Either,
  FiberRef,
  Layer,
  Logger,
  LogLevel,
  Option,
  ParseResult,
  Redacted,
  Schema
} from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { root } from "../Root.js"
import { signalEndsSuccessfully } from "../Shutdown.js"

/** The environment variable that stands in for a `serve` flag: `--rate-limit` → `BATCHWRITE_RATE_LIMIT`. */
export const variableOf = (flag: string): string => `BATCHWRITE_${flag.toUpperCase().replaceAll("-", "_")}`

/** What `--help` says after a setting's description: its default and its variable (the flag wins over it). */
const defaultAndVariable = (flag: string, defaultValue: string | undefined) =>
  defaultValue === undefined ? ` (env ${variableOf(flag)})` : ` (default ${defaultValue}; env ${variableOf(flag)})`

/** An integer setting: `--<flag>`, else `BATCHWRITE_<FLAG>`, else the default. */
const integerSetting = (flag: string, defaultValue: number, description: string) =>
  Options.integer(flag).pipe(
    Options.withFallbackConfig(Config.integer(variableOf(flag))),
    Options.withDefault(defaultValue),
    Options.withDescription(description + defaultAndVariable(flag, String(defaultValue)))
  )

/** A text setting: `--<flag>`, else `BATCHWRITE_<FLAG>`, else the default. */
const textSetting = (flag: string, defaultValue: string, description: string) =>
  Options.text(flag).pipe(
    Options.withFallbackConfig(Config.string(variableOf(flag))),
    Options.withDefault(defaultValue),
    Options.withDescription(description + defaultAndVariable(flag, defaultValue))
  )

/** A text setting without a default: `--<flag>`, else `BATCHWRITE_<FLAG>`, else none. */
const optionalTextSetting = (flag: string, description: string) =>
  Options.text(flag).pipe(
    Options.withFallbackConfig(Config.string(variableOf(flag))),
    Options.optional,
    Options.withDescription(description + defaultAndVariable(flag, undefined))
  )

const port = integerSetting("port", 8787, "Port to listen on")
const host = textSetting("host", "127.0.0.1", "Address to listen on (0.0.0.0 for every interface)")
const database = textSetting(
  "database",
  "sqlite:./batchwrite.db",
  "Storage: sqlite:<file> (one node) or postgres://user:password@host:port/db (any number of nodes on one database)"
)
const poolSize = integerSetting(
  "pool-size",
  10,
  "PostgreSQL: the most connections this node opens (requests and workers share them)"
)
const jobLease = integerSetting(
  "job-lease",
  30,
  "Seconds a worker holds a job without renewing its lease (renewed while it runs): how soon the jobs of a " +
    "node that died are taken over by the others"
)
const requestLease = integerSetting(
  "request-lease",
  60,
  "Seconds an Idempotency-Key stays in progress while its request runs: how soon the keys of requests in " +
    "flight on a node that died are free for retries"
)
const config = optionalTextSetting(
  "config",
  "A JSON file with tokens (workspace, scopes, rate limit) and objects per workspace"
)
const workers = integerSetting("workers", 2, "Job workers processing accepted batches")
const rateLimit = optionalTextSetting(
  "rate-limit",
  "Requests per second per token, e.g. 100 or 100/s (burst: twice that); default 100/s"
)

/** The levels of `--log-level`, by the name @effect/cli gives them (`warning`, `info`, …). */
const logLevels = new Map(LogLevel.allLevels.map((level) => [level._tag.toLowerCase(), level] as const))

/**
 * The log level of the service: `--log-level` when given (@effect/cli applies it, anywhere on the line), else
 * `BATCHWRITE_LOG_LEVEL`, else info. Below info the request log is silent too.
 */
const serviceLogLevel = Effect.gen(function* () {
  const flagGiven = process.argv.slice(2).some((arg) => arg === "--log-level" || arg.startsWith("--log-level="))
  if (flagGiven) return yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
  const variable = yield* Config.option(Config.string(variableOf("log-level"))).pipe(
    Effect.orElseSucceed(() => Option.none<string>())
  )
  if (Option.isNone(variable)) return LogLevel.Info
  const level = logLevels.get(variable.value.trim().toLowerCase())
  if (level !== undefined) return level
  return yield* new UsageError({
    message: `${variableOf("log-level")} must be one of ${[...logLevels.keys()].join(", ")} (got '${variable.value}')`
  })
})

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

/** A setting below its minimum of 1, named as flag and variable. */
const atLeastOne = (flag: string, unit = "") =>
  new UsageError({ message: `--${flag} (or ${variableOf(flag)}) must be at least 1${unit}` })

const parseDatabase = (url: string, poolSize: number): Either.Either<Server.DatabaseSettings, UsageError> => {
  if (/^postgres(ql)?:\/\//.test(url)) {
    return poolSize >= 1
      ? Either.right({ _tag: "Postgres", url: Redacted.make(url), poolSize })
      : Either.left(atLeastOne("pool-size"))
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
      if (options.workers < 1) return yield* atLeastOne("workers")
      if (options.jobLease < 1) return yield* atLeastOne("job-lease", " second")
      if (options.requestLease < 1) return yield* atLeastOne("request-lease", " second")
      const logLevel = yield* serviceLogLevel
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
          requestLog: LogLevel.greaterThan(logLevel, LogLevel.Info) ? false : json ? "json" : "text"
        })
      ).pipe(
        Logger.withMinimumLogLevel(logLevel),
        Effect.mapError((error) => new WorkError({ message: startFailure(error, options.host, options.port) })),
        // With --json every line the service prints is JSON: its own log lines too.
        Effect.provide(json ? jsonLogs : Layer.empty)
      )
    })
).pipe(
  Command.withDescription(
    "Run the Records service on http://<host>:<port>/public/v1 until SIGINT or SIGTERM.\n" +
      "One log line per request on stdout (one JSON object per line with --json).\n" +
      "Every option also reads its environment variable (BATCHWRITE_PORT, BATCHWRITE_DATABASE, …); a flag wins.\n" +
      "--log-level (env BATCHWRITE_LOG_LEVEL, default info): warning or above silences the request log too.\n" +
      "Example: BATCHWRITE_TOKEN=dev-secret-token batchwrite serve --port 8787 --workers 2\n" +
      "Several nodes: batchwrite serve --database postgres://batchwrite@db:5432/batchwrite --port 8787 (on each node)"
  )
)
