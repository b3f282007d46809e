/**
 * `batchwrite bench`: measures a running deployment (the global `--url` and `--token`) over its public API and
 * recommends batch sizes, connections and client settings for a p99 budget (`@batchwrite/bench`). A bad option is
 * a usage error with the command's usage (exit 2) before anything is sent; a run with errors exits 1.
 */
import { benchDescription, benchOptions, planOf, runBench } from "@batchwrite/bench"
import { Command, HelpDoc, Usage } from "@effect/cli"
import { Effect, Either, Option, Redacted } from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { root } from "../Root.js"

/** The command without its handler's usage text (which needs the command itself). */
const make = Command.make("bench", benchOptions)

/** The usage line of `batchwrite bench`, in plain text, with where to read every option. */
export const benchUsage = (): string => {
  const options = HelpDoc.toAnsiText(Usage.getHelp(Command.getUsage(make)))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: SGR escapes of the help text
    .replace(/\x1b\[[0-9;]*m/g, "")
    .trim()
    .replace(/^bench\s*/, "")
  return `usage: batchwrite bench --url <API URL> --token <token> ${options}\n(every option explained: batchwrite bench --help)`
}

/** The `bench` command. */
export const benchCommand = make.pipe(
  Command.withHandler((values) =>
    Effect.gen(function* () {
      const global = yield* root
      const plan = planOf(values, global.url)
      if (Either.isLeft(plan)) {
        return yield* new UsageError({ message: `${plan.left.message}\n\n${benchUsage()}` })
      }
      const token = Option.getOrUndefined(global.token)
      if (!plan.right.dryRun && (token === undefined || Redacted.value(token).length === 0)) {
        return yield* new UsageError({
          message: `no API token: pass --token <token> or set BATCHWRITE_TOKEN\n\n${benchUsage()}`
        })
      }
      const outcome = yield* runBench(plan.right, { token: token ?? Redacted.make(""), json: global.json }).pipe(
        Effect.mapError((failure) => new WorkError({ message: failure.message }))
      )
      if (outcome.hadErrors) {
        return yield* new WorkError({ message: "some rows had errors (listed above with !!!); see results.json" })
      }
    })
  ),
  Command.withDescription(benchDescription)
)
