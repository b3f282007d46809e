/**
 * Runs the built `batchwrite` command as a process, the way a user does.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The built command (turbo builds it before the tests run). */
export const binPath = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

/** What a run printed and how it ended. */
export interface CliRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `batchwrite <args>` with optional standard input. */
export const runCli = (args: ReadonlyArray<string>, input?: string): CliRun => {
  const run = spawnSync(process.execPath, [binPath, ...args], { input: input ?? "", encoding: "utf8" })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}
