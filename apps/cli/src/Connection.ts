/**
 * The global options every command takes (SPEC §4): `--url`, `--token`, `--json`, and the `RecordsClient` the
 * client commands build from them. They are options of the root command, so they may stand anywhere on the line
 * (`batchwrite --json jobs get …` or `batchwrite jobs get … --json`).
 */
import { defaultUrl, pollPolicy, RecordsClient, retryPolicy } from "@batchwrite/client"
import { Options } from "@effect/cli"
import { Config, Effect, Option, Redacted } from "effect"
import { UsageError } from "./CliError.js"

/** `--url`: the API URL; env `BATCHWRITE_URL`. */
export const url = Options.text("url").pipe(
  Options.withFallbackConfig(Config.string("BATCHWRITE_URL")),
  Options.withDefault(defaultUrl),
  Options.withDescription(`The service's API URL (env BATCHWRITE_URL; default ${defaultUrl})`)
)

/** `--token`: the bearer token; env `BATCHWRITE_TOKEN`. */
export const token = Options.redacted("token").pipe(
  Options.withFallbackConfig(Config.redacted("BATCHWRITE_TOKEN")),
  Options.optional,
  Options.withDescription("The API token (env BATCHWRITE_TOKEN)")
)

/** `--json`: machine-readable output on standard output. */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Print machine-readable JSON on standard output (one document, or one per line for lists)")
)

/** The global options, as the root command parses them. */
export interface GlobalOptions {
  readonly url: string
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly json: boolean
}

/**
 * How patient the commands are: requests retried (429, 5xx, network) for up to a minute; jobs polled quickly at
 * first (a person is waiting) and for up to 30 minutes (a backfill's jobs may queue behind others).
 */
const patience = {
  retry: retryPolicy({ maxElapsed: "1 minute" }),
  poll: pollPolicy({ initial: "250 millis", cap: "5 seconds" }),
  pollTimeout: "30 minutes",
  requestTimeout: "2 minutes"
} as const

/**
 * A quicker client for the first request of a command: a service that is down is reported within seconds rather
 * than after a minute of retries.
 */
const firstContact = { ...patience, retry: retryPolicy({ maxRetries: 2, maxElapsed: "3 seconds" }) }

/** Checks the URL and the token before anything is sent. */
const connectionOf = (options: GlobalOptions) =>
  Effect.gen(function* () {
    if (Option.isNone(options.token) || Redacted.value(options.token.value).length === 0) {
      return yield* new UsageError({
        message: "no API token: pass --token <token> or set BATCHWRITE_TOKEN (the token `serve` was started with)"
      })
    }
    const parsed = URL.canParse(options.url) ? new URL(options.url) : undefined
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      return yield* new UsageError({
        message: `--url must be an http(s) URL like ${defaultUrl} (got '${options.url}')`
      })
    }
    return { baseUrl: options.url, token: options.token.value }
  })

/** The clients a command works with. */
export interface Clients {
  /** Retries for up to a minute, polls jobs for up to 30 minutes. */
  readonly patient: RecordsClient
  /** Gives up within seconds: for a command's first request, so that a service that is down is said at once. */
  readonly quick: RecordsClient
}

/** The clients of the global options, or a `UsageError` when the token is missing or the URL is not one. */
export const clients = (options: GlobalOptions): Effect.Effect<Clients, UsageError> =>
  Effect.flatMap(connectionOf(options), (connection) =>
    Effect.all({
      patient: Effect.provide(RecordsClient, RecordsClient.layer({ ...connection, ...patience })),
      quick: Effect.provide(RecordsClient, RecordsClient.layer({ ...connection, ...firstContact }))
    })
  )
