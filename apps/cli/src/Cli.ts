/**
 * The `batchwrite` command tree, and running it on a command line: `--help` first, then @effect/cli.
 */
import { Command } from "@effect/cli"
import { Console } from "effect"
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
import { commandOfLine, commandTree } from "./CommandTree.js"
import { globalOptions, hoistGlobalOptions } from "./GlobalArguments.js"
import { helpText } from "./Help.js"
import { root } from "./Root.js"

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
 * prints our help of the command.
 */
export const run = (argv: ReadonlyArray<string>) => {
  const line = hoistGlobalOptions(argv)
  const { command, rest } = commandOfLine(tree, line.slice(2), globalOptions)
  const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest
  if (options.includes("--help") || options.includes("-h")) return Console.log(helpText(command, packageJson.version))
  return runTree(line)
}
