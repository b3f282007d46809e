/**
 * `batchwrite serve`: runs the Records service (SPEC §1) on the embedded SQLite default, or on PostgreSQL where any
 * number of nodes share one database, until SIGINT or SIGTERM stops it gracefully (exit 0).
 */
import { Limits } from "@batchwrite/core"
import { Server, ServerConfig } from "@batchwrite/server"
import { Command } from "@effect/cli"
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
import {
  atLeastOne,
  outOfRange,
  config,
  database,
  host,
  jobLease,
  maxBacklogRecords,
  inlineMaxRecords,
  maxInFlightMib,
  parseDatabase,
  parseRateLimit,
  poolSize,
  port,
  prepareThreads,
  rateLimit,
  requestLease,
  variableOf,
  workers
} from "../ServeSettings.js"
import { signalEndsSuccessfully } from "../Shutdown.js"

/** The most `--prepare-threads`. */
const maxPrepareThreads = 64

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
  {
    port,
    host,
    database,
    poolSize,
    config,
    workers,
    rateLimit,
    jobLease,
    requestLease,
    maxInFlightMib,
    maxBacklogRecords,
    inlineMaxRecords,
    prepareThreads
  },
  (options) =>
    Effect.gen(function* () {
      const { json } = yield* root
      if (options.workers < 1) return yield* atLeastOne("workers")
      if (options.jobLease < 1) return yield* atLeastOne("job-lease", " second")
      if (options.requestLease < 1) return yield* atLeastOne("request-lease", " second")
      if (options.maxInFlightMib < 1) return yield* atLeastOne("max-in-flight-mib", " MiB")
      if (options.maxBacklogRecords < 1) return yield* atLeastOne("max-backlog-records", " record")
      if (options.inlineMaxRecords < 0 || options.inlineMaxRecords > Limits.maxRecordsPerBatch) {
        return yield* outOfRange("inline-max-records", 0, Limits.maxRecordsPerBatch)
      }
      if (options.prepareThreads < 0 || options.prepareThreads > maxPrepareThreads) {
        return yield* outOfRange("prepare-threads", 0, maxPrepareThreads)
      }
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
          admission: {
            maxInFlightBodyBytes: options.maxInFlightMib * 1024 * 1024,
            maxBacklogRecords: options.maxBacklogRecords
          },
          inlineApply: { maxRecords: options.inlineMaxRecords },
          appendPreparation: { threads: options.prepareThreads },
          tokens,
          rateLimit: limit ?? ServerConfig.defaultRateLimit,
          objects: Server.objectsFromConfig(file?.objects ?? {}),
          requestLog: LogLevel.greaterThan(logLevel, LogLevel.Info) ? false : json ? "json" : "text"
        })
      ).pipe(
        // Runs once the layer's finalizers are done: requests drained, jobs finished or released, storage closed.
        Effect.onInterrupt(() =>
          Effect.logInfo("batchwrite stopped: in-flight requests answered, jobs finished or released, storage closed")
        ),
        Logger.withMinimumLogLevel(logLevel),
        Effect.mapError((error) => new WorkError({ message: startFailure(error, options.host, options.port) })),
        // With --json every line the service prints is JSON: its own log lines too.
        Effect.provide(json ? jsonLogs : Layer.empty)
      )
    })
).pipe(
  Command.withDescription(
    "Run the Records service on http://<host>:<port>/public/v1 until SIGINT (Ctrl-C) or SIGTERM,\n" +
      "then stop gracefully and print a 'batchwrite stopped' line (exit 0).\n" +
      "One log line per request on stdout (one JSON object per line with --json).\n" +
      "Every option also reads its environment variable (BATCHWRITE_PORT, BATCHWRITE_DATABASE, …); a flag\n" +
      "wins. --log-level (env BATCHWRITE_LOG_LEVEL, default info): warning or above silences the request\n" +
      "log too.\n" +
      "Example: BATCHWRITE_TOKEN=dev-secret-token batchwrite serve --port 8787 --workers 2\n" +
      "Admission: writes beyond --max-in-flight-mib of bodies, or to a workspace with more than\n" +
      "--max-backlog-records records not yet committed, get 503 with Retry-After before their body is read\n" +
      "(see /readyz and /metrics).\n" +
      "Inline apply: an append of at most --inline-max-records records (on PostgreSQL at least 2000) to an\n" +
      "object without match keys is applied in its acceptance's transaction: its job is completed at the 202.\n" +
      "Several nodes: batchwrite serve --database postgres://batchwrite@db:5432/batchwrite on each node"
  )
)
