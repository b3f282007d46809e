/**
 * Runs a command to the end without blocking the event loop, for tests that drive real processes (the CLI,
 * python3, npm). A synchronous spawn would keep the test worker from answering vitest for as long as the child
 * runs, and vitest fails the run when its worker stops answering.
 */
import { spawn } from "node:child_process"

/** What a run printed and how it ended (`status` is null when a signal ended it). */
export interface ProcessRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** How to run a command. */
export interface ProcessOptions {
  /** Standard input; default none. */
  readonly input?: string | undefined
  /** The whole environment; default this process's. */
  readonly env?: NodeJS.ProcessEnv | undefined
  /** The working directory; default this process's. */
  readonly cwd?: string | undefined
}

/** Runs `command <args>` to the end; rejects only when it cannot be started (e.g. not installed). */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: ProcessOptions = {}
): Promise<ProcessRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: "pipe" })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.once("error", reject)
    child.once("close", (status) =>
      resolve({
        status,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8")
      })
    )
    // A child that exits before reading all of its input closes the pipe: that is its answer, not an error here.
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
  })

/** Whether `command <args>` runs and exits 0 (e.g. whether python3 is installed). */
export const succeeds = (command: string, args: ReadonlyArray<string>): Promise<boolean> =>
  runProcess(command, args).then(
    (run) => run.status === 0,
    () => false
  )
