/**
 * The `batchwrite` command tree.
 */
import { Command } from "@effect/cli"
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

/** Runs the command tree on the arguments (without the `node` and script path). */
export const run = Command.run(batchwrite, { name: "batchwrite", version: packageJson.version })
