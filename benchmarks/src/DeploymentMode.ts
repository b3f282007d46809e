/**
 * `pnpm bench --url <API URL> --token <t> …`: measures an existing deployment instead of a service the harness
 * starts. The same command as `batchwrite bench` (`@batchwrite/bench`: the same options, checks, output and exit
 * codes: 0, 1 when a row had errors or the run could not be done, 2 for bad usage with the usage printed).
 */
import { benchDescription, benchOptions, planOf, runBench } from "@batchwrite/bench"
import { Command, HelpDoc, Options, Usage, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Data, Effect, Either, Option, Redacted } from "effect"

/** Bad usage (exit 2) or a failed run (exit 1), with the message to print. */
class ModeError extends Data.TaggedError("ModeError")<{ readonly message: string; readonly exitCode: 1 | 2 }> {}

const url = Options.text("url").pipe(
  Options.withDescription("The deployment's API URL, like https://batchwrite.internal/public/v1")
)
const token = Options.redacted("token").pipe(
  Options.withFallbackConfig(Config.redacted("BATCHWRITE_TOKEN")),
  Options.optional,
  Options.withDescription("The API token (env BATCHWRITE_TOKEN)")
)
const json = Options.boolean("json").pipe(Options.withDescription("Print the results as one JSON document"))

const make = Command.make("bench", { url, token, json, ...benchOptions })

const usage = (): string =>
  `usage: pnpm ${HelpDoc.toAnsiText(Usage.getHelp(Command.getUsage(make)))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: SGR escapes of the help text
    .replace(/\x1b\[[0-9;]*m/g, "")
    .trim()}\n(every option explained: pnpm bench --url <API URL> --help)`

const command = make.pipe(
  Command.withHandler((values) =>
    Effect.gen(function* () {
      const plan = planOf(values, values.url)
      if (Either.isLeft(plan)) return yield* new ModeError({ message: plan.left.message, exitCode: 2 })
      const given = Option.getOrUndefined(values.token)
      if (!plan.right.dryRun && (given === undefined || Redacted.value(given).length === 0)) {
        return yield* new ModeError({
          message: "no API token: pass --token <token> or set BATCHWRITE_TOKEN",
          exitCode: 2
        })
      }
      const outcome = yield* runBench(plan.right, { token: given ?? Redacted.make(""), json: values.json }).pipe(
        Effect.mapError((failure) => new ModeError({ message: failure.message, exitCode: 1 }))
      )
      if (outcome.hadErrors) {
        return yield* new ModeError({ message: "some rows had errors (listed above with !!!)", exitCode: 1 })
      }
    })
  ),
  Command.withDescription(benchDescription.replaceAll("batchwrite bench", "pnpm bench"))
)

/** Runs the deployment mode on the arguments (without `node` and the script) and exits with its code. */
export const runDeploymentMode = (args: ReadonlyArray<string>): void => {
  const program = Command.run(command, { name: "pnpm bench", version: "" })(["node", "bench", ...args]).pipe(
    Effect.matchCauseEffect({
      onSuccess: () => Effect.succeed(0),
      onFailure: (cause) =>
        Effect.gen(function* () {
          const error = Option.getOrUndefined(Cause.failureOption(cause))
          if (error !== undefined && ValidationError.isValidationError(error)) {
            if (ValidationError.isHelpRequested(error)) return 0
            yield* Console.error(`\n${usage()}`)
            return 2
          }
          if (error instanceof ModeError) {
            yield* Console.error(`pnpm bench: ${error.message}${error.exitCode === 2 ? `\n\n${usage()}` : ""}`)
            return error.exitCode
          }
          yield* Console.error(`pnpm bench: unexpected error: ${String(cause)}`)
          return 1
        })
    }),
    Effect.provide(NodeContext.layer)
  )
  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(exit._tag === "Success" && typeof exit.value === "number" ? exit.value : 1)
  })
}
