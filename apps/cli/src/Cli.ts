/**
 * The `batchwrite` command tree.
 */
import { Command } from "@effect/cli"
import packageJson from "../package.json" with { type: "json" }
import { keyCommand } from "./commands/KeyCommand.js"
import { serveCommand } from "./commands/ServeCommand.js"

/** The root command. */
export const batchwrite = Command.make("batchwrite").pipe(
  Command.withDescription("batchwrite: a self-hostable batch record-write service and its toolkit"),
  Command.withSubcommands([serveCommand, keyCommand])
)

/** Runs the command tree on the arguments (without the `node` and script path). */
export const run = Command.run(batchwrite, { name: "batchwrite", version: packageJson.version })
