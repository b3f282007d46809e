/**
 * Runs the built `batchwrite` command as a process, the way a user does: to the end (`runCli`), or in the
 * background to be killed (`startCli`).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type ProcessRun, runProcess } from "@batchwrite/server/testing/Process"

/** The built command (turbo builds it before the tests run). */
export const binPath = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

/** What a run printed and how it ended. */
export type CliRun = ProcessRun

/** How to run the command. */
export interface CliOptions {
  /** Standard input. */
  readonly input?: string | undefined
  /** Environment variables on top of this process's (`BATCHWRITE_URL`, `BATCHWRITE_TOKEN`…). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** The working directory. */
  readonly cwd?: string | undefined
}

/** The environment of a run: this process's without the BATCHWRITE_ variables, plus `env`. */
const environment = (env: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("BATCHWRITE_"))),
  ...env
})

/** Runs `batchwrite <args>` to the end. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions | string = {}): Promise<CliRun> => {
  const { input, env, cwd } = typeof options === "string" ? { input: options, env: undefined, cwd: undefined } : options
  return runProcess(process.execPath, [binPath, ...args], { input, env: environment(env), cwd })
}

/** A run in the background. */
export interface BackgroundRun {
  readonly child: ChildProcess
  /** Resolves when it exits, with its exit code (null when killed by a signal) and what it printed. */
  readonly exited: Promise<CliRun>
}

/** Starts `batchwrite <args>` in the background. */
export const startCli = (args: ReadonlyArray<string>, options: CliOptions = {}): BackgroundRun => {
  const child = spawn(process.execPath, [binPath, ...args], {
    env: environment(options.env),
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<CliRun>((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })))
  return { child, exited }
}
