/**
 * The settings of `batchwrite serve` (and of the commands that work on its database): each a flag that also reads
 * its `BATCHWRITE_*` environment variable (the flag wins), with its default, and the parsers of their values.
 */
import { Server, type ServerConfig } from "@batchwrite/server"
import { Options } from "@effect/cli"
import { Config, Either, Redacted } from "effect"
import { UsageError } from "./CliError.js"

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

/** `--port` of serve. */
export const port = integerSetting("port", 8787, "Port to listen on")
/** `--host` of serve. */
export const host = textSetting("host", "127.0.0.1", "Address to listen on (0.0.0.0 for every interface)")
/** `--database` of serve. */
export const database = textSetting(
  "database",
  "sqlite:./batchwrite.db",
  "Storage: sqlite:<file> (one node) or postgres://user:password@host:port/db (any number of nodes on one database)"
)
/** `--pool-size` of serve. */
export const poolSize = integerSetting(
  "pool-size",
  10,
  "PostgreSQL: the most connections this node opens (requests and workers share them)"
)
/** `--job-lease` of serve. */
export const jobLease = integerSetting(
  "job-lease",
  30,
  "Seconds a worker holds a job without renewing its lease (renewed while it runs): how soon the jobs of a " +
    "node that died are taken over by the others"
)
/** `--request-lease` of serve. */
export const requestLease = integerSetting(
  "request-lease",
  60,
  "Seconds an Idempotency-Key stays in progress while its request runs: how soon the keys of requests in " +
    "flight on a node that died are free for retries"
)
/** `--max-in-flight-mib` of serve. */
export const maxInFlightMib = integerSetting(
  "max-in-flight-mib",
  256,
  "MiB of request bodies this node receives and handles at once; a write beyond it is answered 503 with " +
    "Retry-After before its body is read"
)
/** `--max-backlog-records` of serve. */
export const maxBacklogRecords = integerSetting(
  "max-backlog-records",
  2_000_000,
  "Records a workspace may have accepted and not yet committed; beyond it its writes are answered 503 with a " +
    "Retry-After from the drain rate, before their body is read"
)
/** `--inline-max-records` of serve. */
export const inlineMaxRecords = integerSetting(
  "inline-max-records",
  10_000,
  "Appends of at most this many records to an object without match keys are applied in their acceptance's " +
    "transaction (their job is completed when the 202 is sent), on PostgreSQL those of at least 2000 records; 0 " +
    "queues every batch for the workers"
)
/** `--prepare-threads` of serve. */
export const prepareThreads = integerSetting(
  "prepare-threads",
  Server.defaultPreparationThreads(),
  "Threads that parse, check and serialize the appends of 64 KiB to 4 MiB to an object without match keys off " +
    "the thread that answers HTTP (by default one fewer than the processors, 1 to 4); 0 does it on that thread"
)
/** `--config` of serve. */
export const config = optionalTextSetting(
  "config",
  "A JSON file with tokens (workspace, scopes, rate limit) and objects per workspace"
)
/** `--workers` of serve. */
export const workers = integerSetting("workers", 2, "Job workers processing accepted batches")
/** `--rate-limit` of serve. */
export const rateLimit = optionalTextSetting(
  "rate-limit",
  "Requests per second per token, e.g. 100 or 100/s (burst: twice that); default 100/s"
)

/** `--rate-limit 100/s` (or `100`): that many requests per second, with a burst of twice that. */
export const parseRateLimit = (text: string): Either.Either<ServerConfig.RateLimitSettings, UsageError> => {
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
export const atLeastOne = (flag: string, unit = "") =>
  new UsageError({ message: `--${flag} (or ${variableOf(flag)}) must be at least 1${unit}` })

/** The error of an integer setting outside `min`–`max`. */
export const outOfRange = (flag: string, min: number, max: number) =>
  new UsageError({
    message: `--${flag} (or ${variableOf(flag)}) must be ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}`
  })

/** `--database`: a SQLite file or a PostgreSQL URL with its pool size. */
export const parseDatabase = (url: string, poolSize: number): Either.Either<Server.DatabaseSettings, UsageError> => {
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
