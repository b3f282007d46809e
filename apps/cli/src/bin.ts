#!/usr/bin/env node
/**
 * Entry point of the `batchwrite` command: runs the command tree and maps failures to exit codes
 * (0 success, 1 a failure of the work, 2 bad usage), printing one line per error and never a stack trace.
 */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit } from "effect"
import { run } from "./Cli.js"
import { exitCodeOf } from "./CliError.js"
import { benchUsage } from "./commands/BenchCommand.js"
import { subcommandOf } from "./GlobalArguments.js"
import { plainWhenPiped } from "./Output.js"
import { exitCodeOnSignal } from "./Shutdown.js"

const program = Effect.suspend(() => run(process.argv)).pipe(
  plainWhenPiped,
  Effect.matchCauseEffect({
    onSuccess: () => Effect.succeed(0),
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      if (failure._tag === "None") {
        return Console.error(`batchwrite: unexpected error: ${Cause.pretty(cause).split("\n")[0]}`).pipe(Effect.as(1))
      }
      const error = failure.value
      // @effect/cli has already printed its own usage errors; bench adds its usage (its many options are easy to mistype).
      if (ValidationError.isValidationError(error)) {
        if (ValidationError.isHelpRequested(error)) return Effect.succeed(0)
        return (subcommandOf(process.argv) === "bench" ? Console.error(`\n${benchUsage()}`) : Effect.void).pipe(
          Effect.as(2)
        )
      }
      return Console.error(`batchwrite: ${error.message}`).pipe(Effect.as(exitCodeOf(error)))
    }
  }),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit) && typeof exit.value === "number"
        ? exit.value
        : Exit.isInterrupted(exit)
          ? exitCodeOnSignal()
          : 1
    )
})
