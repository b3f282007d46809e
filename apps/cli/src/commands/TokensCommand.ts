/**
 * `batchwrite tokens new --workspace W [--scopes …] [--rate-limit N/s]`: makes a strong random token and prints it
 * once, with the entry for the `serve --config` file, which holds only the token's SHA-256.
 */
import { Auth, ServerConfig } from "@batchwrite/server"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema } from "effect"
import { UsageError } from "../CliError.js"
import { root } from "../Root.js"
import { parseRateLimit } from "../ServeSettings.js"

const workspace = Options.text("workspace").pipe(
  Options.withDescription("The workspace the token belongs to (a-z, 0-9, _ and -; up to 63 characters)")
)
const scopes = Options.text("scopes").pipe(
  Options.withDefault(ServerConfig.allScopes.join(",")),
  Options.withDescription(`Comma-separated scopes, of ${ServerConfig.allScopes.join(", ")} (default: all of them)`)
)
const rateLimit = Options.text("rate-limit").pipe(
  Options.optional,
  Options.withDescription("This token's requests per second, e.g. 50/s (default: the service's)")
)

const isScope = Schema.is(ServerConfig.Scope)
const isTokenEntry = Schema.is(ServerConfig.TokenSettings)

const newCommand = Command.make("new", { workspace, scopes, rateLimit }, (options) =>
  Effect.gen(function* () {
    const { json } = yield* root
    const token = Auth.newToken()
    const limit = Option.isSome(options.rateLimit) ? yield* parseRateLimit(options.rateLimit.value) : undefined
    const entry = {
      tokenSha256: Auth.tokenSha256(token),
      workspace: options.workspace,
      scopes: options.scopes.split(",").map((scope) => scope.trim()),
      ...(limit === undefined ? {} : { rateLimit: limit })
    }
    const unknownScope = entry.scopes.find((scope) => !isScope(scope))
    if (unknownScope !== undefined) {
      return yield* new UsageError({
        message: `--scopes: '${unknownScope}' is not a scope (scopes: ${ServerConfig.allScopes.join(", ")})`
      })
    }
    if (!isTokenEntry(entry)) {
      return yield* new UsageError({
        message: `--workspace must be a-z, 0-9, _ and - (up to 63 characters, starting with a letter or digit), got '${options.workspace}'`
      })
    }
    if (json) return yield* Console.log(JSON.stringify({ token, configEntry: entry }))
    yield* Console.log(
      [
        `token (give it to the client; it is shown once and stored nowhere): ${token}`,
        `config entry (add it to "tokens" in the serve --config file; it holds only the token's SHA-256):`,
        JSON.stringify(entry)
      ].join("\n")
    )
  })
).pipe(
  Command.withDescription(
    "Make a new random token for a workspace and print it with its config-file entry.\n" +
      "Example: batchwrite tokens new --workspace acme --scopes records:write,records:read \\\n" +
      "           --rate-limit 50/s"
  )
)

/** `batchwrite tokens …` */
export const tokensCommand = Command.make("tokens").pipe(
  Command.withDescription("Tokens for the serve --config file"),
  Command.withSubcommands([newCommand])
)
