/**
 * The root `batchwrite` command with the global options (`--url`, `--token`, `--json`), and what a subcommand
 * that talks to the service starts from: `yield* session(...)`.
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { clients, json, token, url } from "./Connection.js"
import type { FailureContext } from "./Failure.js"

/** The root command, before its subcommands are attached (see `Cli.ts`). */
export const root = Command.make("batchwrite", { url, token, json })

/**
 * The global options, the clients they make, and the context for error messages (the URL, plus the object and
 * job the command is about).
 */
export const session = (about: Omit<FailureContext, "url"> = {}) =>
  Effect.gen(function* () {
    const global = yield* root
    const { patient, quick } = yield* clients(global)
    const context: FailureContext = { ...about, url: global.url }
    return { json: global.json, patient, quick, context }
  })
