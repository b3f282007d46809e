/**
 * The `batchwrite` command tree, and running it on a command line: `--help` and unknown flags first, then
 * @effect/cli.
 */
import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import packageJson from "../package.json" with { type: "json" }
import { backupCommand } from "./commands/BackupCommand.js"
import { benchCommand } from "./commands/BenchCommand.js"
import { deadLetterCommand } from "./commands/DeadLetterCommand.js"
import { jobsCommand } from "./commands/JobsCommand.js"
import { keyCommand } from "./commands/KeyCommand.js"
import { objectsCommand } from "./commands/ObjectsCommand.js"
import { recordsCommand } from "./commands/RecordsCommand.js"
import { serveCommand } from "./commands/ServeCommand.js"
import { tokensCommand } from "./commands/TokensCommand.js"
import { appendCommand, upsertCommand } from "./commands/WriteCommands.js"
import { UsageError } from "./CliError.js"
import { commandOfLine, commandTree } from "./CommandTree.js"
import { benchUsage } from "./commands/BenchCommand.js"
import { globalOptions, hoistGlobalOptions } from "./GlobalArguments.js"
import { helpText } from "./Help.js"
import { root } from "./Root.js"
import { unknownFlag } from "./UnknownFlags.js"

/** The root command and its subcommands. */
export const batchwrite = root.pipe(
  Command.withDescription("batchwrite: a self-hostable batch record-write service and its toolkit"),
  Command.withSubcommands([
    serveCommand,
    appendCommand,
    upsertCommand,
    jobsCommand,
    objectsCommand,
    recordsCommand,
    deadLetterCommand,
    keyCommand,
    tokensCommand,
    backupCommand,
    benchCommand
  ])
)

const runTree = Command.run(batchwrite, { name: "batchwrite", version: packageJson.version })

const tree = commandTree(batchwrite)

/**
 * Runs a command line (`argv`: `node`, the script, then the arguments). Global options may be anywhere; `--help`
 * prints our help of the command; a flag the command does not know is a usage error, with the closest known flag.
 */
export const run = (argv: ReadonlyArray<string>) => {
  const line = hoistGlobalOptions(argv)
  const { command, rest } = commandOfLine(tree, line.slice(2), globalOptions)
  const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest
  if (options.includes("--help") || options.includes("-h")) return Console.log(helpText(command, packageJson.version))
  // A word after a command with subcommands is a subcommand @effect/cli does not know: it says so itself.
  const unknown =
    command.subcommands.length > 0 && rest[0] !== undefined && !rest[0].startsWith("-")
      ? undefined
      : unknownFlag(command, rest, globalOptions)
  if (unknown === undefined) return runTree(line)
  const name = ["batchwrite", ...command.path].join(" ")
  const suggestion = unknown.suggestion === undefined ? "" : `: did you mean ${unknown.suggestion}?`
  const usage = command.path[0] === "bench" ? `\n\n${benchUsage()}` : ` (see ${name} --help)`
  return Effect.fail(new UsageError({ message: `unknown option ${unknown.flag} for ${name}${suggestion}${usage}` }))
}
