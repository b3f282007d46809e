/**
 * A real `batchwrite serve` child process for tests that talk to the service the way its users do: over plain
 * HTTP on a free port, on a fresh SQLite file in a temporary directory, a fresh PostgreSQL database, or a
 * PostgreSQL database shared with other processes (several nodes). Start it, wait for `GET /healthz`, read
 * what it printed, stop it with SIGTERM (resolving with the exit code), kill it with SIGKILL, restart it on the
 * same file and port. Every wait is bounded, and no process outlives the test run: `dispose()` in `afterAll`,
 * and a last-resort SIGKILL of every live child when the test process exits.
 *
 * Needs the built CLI (`apps/cli/dist/bin.js`); turbo builds it before `test`. The benchmarks (`benchmarks/src`) start
 * the service with this harness too: under extra `node` flags (`nodeArgs`, e.g. `--cpu-prof`), with its output sent
 * to files rather than kept in memory (`output: "files"`: a long run logs one line per request), reading its memory
 * from `/proc` and the time the CLI was built.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { createDatabase } from "./Postgres.js"

/** Where the built `batchwrite` binary lives. */
export const binPath = fileURLToPath(new URL("../../../../apps/cli/dist/bin.js", import.meta.url))

/** When the built CLI was last built (its file's modification time), or `undefined` when it is missing. */
export const binBuiltAt = (): string | undefined =>
  existsSync(binPath) ? statSync(binPath).mtime.toISOString() : undefined

/** How to start `batchwrite serve`. */
export interface ServeOptions {
  /** The quick-start token (`BATCHWRITE_TOKEN`: all scopes on workspace `default`); default a random one. */
  readonly token?: string | undefined
  /** A `--config` file's content (tokens, objects, rate limit), written to the temporary directory. */
  readonly config?: unknown
  /** `--workers`; default the CLI's (2). */
  readonly workers?: number | undefined
  /** `--rate-limit`, requests per second per token (e.g. 5 or "5/s"); default the CLI's (100/s). */
  readonly rateLimit?: number | string | undefined
  /** The storage of a fresh database: a SQLite file (default) or a new PostgreSQL database, dropped on dispose. */
  readonly adapter?: "sqlite" | "postgres" | undefined
  /** An existing database to serve from (`--database`), e.g. one PostgreSQL database shared by several nodes. */
  readonly database?: string | undefined
  /**
   * Give the settings above (port, database, workers, rate limit, config file) in their environment variables
   * (`BATCHWRITE_PORT`, `BATCHWRITE_DATABASE`, …) rather than as flags.
   */
  readonly settingsFromEnv?: boolean | undefined
  /** More arguments after `serve`. */
  readonly args?: ReadonlyArray<string> | undefined
  /** More environment variables (`BATCHWRITE_PORT`…); this process's `BATCHWRITE_*` variables are never passed. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** The `batchwrite` command to run, e.g. an installed one's `bin/batchwrite`; default the workspace's build. */
  readonly command?: string | undefined
  /** How long to wait for `/healthz` to answer; default 20 s. */
  readonly startTimeoutMs?: number | undefined
  /** `node` flags before the CLI's script, e.g. `--cpu-prof --cpu-prof-dir <dir>` (not with `command`). */
  readonly nodeArgs?: ReadonlyArray<string> | undefined
  /**
   * Where the process's stdout (one line per request) and stderr go: kept in memory (default), or written to
   * `stdout.log` and `stderr.log` in its temporary directory (for long runs; `stdout`/`stderr` read the files).
   */
  readonly output?: "memory" | "files" | undefined
}

/** How a run of the process ended. */
export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

interface Run {
  readonly child: ChildProcess
  readonly exited: Promise<ExitStatus>
  stdout: string
  stderr: string
  /** With `output: "files"`: the files stdout and stderr go to. */
  readonly files: { readonly stdout: string; readonly stderr: string } | undefined
  exit: ExitStatus | undefined
}

const readText = (file: string): string => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

const stdoutOf = (run: Run): string => (run.files === undefined ? run.stdout : readText(run.files.stdout))
const stderrOf = (run: Run): string =>
  run.files === undefined ? run.stderr : `${readText(run.files.stderr)}${run.stderr}`

const live = new Set<ChildProcess>()
const liveDirectories = new Set<string>()
let exitHookInstalled = false

const killLive = () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL")
    } catch {
      // already gone
    }
  }
  for (const directory of liveDirectories) rmSync(directory, { recursive: true, force: true })
}

/**
 * Last resort when a test forgot `dispose()` or its worker is being torn down: SIGKILL every live child and remove
 * its directory when this process exits or is told to stop. (The children are unref'd, so they never keep a test worker alive.)
 */
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once("exit", killLive)
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killLive()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}

/** A port nobody listens on right now, from the kernel. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))))
    })
  })

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const withTimeout = <A>(promise: Promise<A>, ms: number): Promise<A | "timeout"> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve("timeout"), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })

/** A running (or stopped) `batchwrite serve` on its own port and database file. */
export class ServeProcess {
  /** The token of `BATCHWRITE_TOKEN`. */
  readonly token: string
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** `http://127.0.0.1:<port>/public/v1` */
  readonly baseUrl: string
  /** The SQLite file (when serving from SQLite). */
  readonly databaseFile: string
  /** Drops the PostgreSQL database this process created, on dispose. */
  private dropDatabase: (() => Promise<void>) | undefined
  private readonly runs: Array<Run> = []
  private disposed = false

  private constructor(
    readonly port: number,
    readonly directory: string,
    /** The command line: the program, then its arguments. */
    private readonly commandLine: ReadonlyArray<string>,
    private readonly env: NodeJS.ProcessEnv,
    private readonly startTimeoutMs: number,
    private readonly outputTo: "memory" | "files",
    token: string
  ) {
    this.token = token
    this.origin = `http://127.0.0.1:${port}`
    this.baseUrl = `${this.origin}/public/v1`
    this.databaseFile = join(directory, "batchwrite.db")
  }

  /** Starts `batchwrite serve` on a free port and a fresh database; resolves once `/healthz` answers. */
  static async start(options: ServeOptions = {}): Promise<ServeProcess> {
    if (options.command !== undefined && options.nodeArgs !== undefined) {
      throw new Error("nodeArgs apply to the workspace's build only, not to another command")
    }
    if (options.command === undefined && !existsSync(binPath)) {
      throw new Error(`the built CLI is missing (${binPath}): run \`pnpm build\` first (turbo runs it before test)`)
    }
    const port = await freePort()
    const directory = mkdtempSync(join(tmpdir(), "batchwrite-serve-"))
    liveDirectories.add(directory)
    const token = options.token ?? `test-token-${Math.random().toString(36).slice(2)}`
    let database = options.database ?? `sqlite:${join(directory, "batchwrite.db")}`
    let dropDatabase: (() => Promise<void>) | undefined
    if (options.database === undefined && options.adapter === "postgres") {
      const created = await createDatabase()
      database = created.url
      dropDatabase = created.drop
    }
    const settings: Array<[flag: string, value: string]> = [
      ["port", String(port)],
      ["database", database]
    ]
    if (options.workers !== undefined) settings.push(["workers", String(options.workers)])
    if (options.rateLimit !== undefined) settings.push(["rate-limit", String(options.rateLimit)])
    if (options.config !== undefined) {
      const file = join(directory, "config.json")
      writeFileSync(file, JSON.stringify(options.config, null, 2))
      settings.push(["config", file])
    }
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("BATCHWRITE_"))
    )
    env.BATCHWRITE_TOKEN = token
    const args = ["serve"]
    for (const [flag, value] of settings) {
      if (options.settingsFromEnv === true) env[`BATCHWRITE_${flag.toUpperCase().replaceAll("-", "_")}`] = value
      else args.push(`--${flag}`, value)
    }
    args.push(...(options.args ?? []))
    Object.assign(env, options.env)
    const command =
      options.command === undefined ? [process.execPath, ...(options.nodeArgs ?? []), binPath] : [options.command]
    const server = new ServeProcess(
      port,
      directory,
      [...command, ...args],
      env,
      options.startTimeoutMs ?? 20_000,
      options.output ?? "memory",
      token
    )
    server.dropDatabase = dropDatabase
    try {
      await server.launch()
    } catch (error) {
      await server.dispose()
      throw error
    }
    return server
  }

  private get current(): Run | undefined {
    return this.runs[this.runs.length - 1]
  }

  /** The pid of the current run. */
  get pid(): number {
    const pid = this.current?.child.pid
    if (pid === undefined) throw new Error("batchwrite serve is not running")
    return pid
  }

  /** Whether the current run is still alive. */
  get running(): boolean {
    const run = this.current
    return run !== undefined && run.exit === undefined
  }

  /** What the current run printed on stdout (one line per request). */
  get stdout(): string {
    const run = this.current
    return run === undefined ? "" : stdoutOf(run)
  }

  /** What the current run printed on stderr. */
  get stderr(): string {
    const run = this.current
    return run === undefined ? "" : stderrOf(run)
  }

  /** Everything every run printed, for failure messages. */
  get output(): string {
    return this.runs
      .map((run, i) => `--- run ${i + 1} stdout ---\n${stdoutOf(run)}\n--- run ${i + 1} stderr ---\n${stderrOf(run)}`)
      .join("\n")
  }

  /** How the last run ended, once it has. */
  get exitStatus(): ExitStatus | undefined {
    return this.current?.exit
  }

  private async launch(): Promise<void> {
    if (this.disposed) throw new Error("this ServeProcess was disposed")
    installExitHook()
    const [program, ...args] = this.commandLine
    const runNumber = this.runs.length + 1
    const files =
      this.outputTo === "files"
        ? {
            stdout: join(this.directory, `stdout.${runNumber}.log`),
            stderr: join(this.directory, `stderr.${runNumber}.log`)
          }
        : undefined
    const child = spawn(program!, args, {
      env: this.env,
      stdio:
        files === undefined
          ? ["ignore", "pipe", "pipe"]
          : ["ignore", openSync(files.stdout, "w"), openSync(files.stderr, "w")]
    })
    live.add(child)
    child.unref()
    for (const stream of [child.stdout, child.stderr] as Array<Socket | null>) stream?.unref()
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child)
        run.exit = { code, signal }
        resolve(run.exit)
      })
    })
    const run: Run = { child, exited, stdout: "", stderr: "", files, exit: undefined }
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      run.stdout += text
    })
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      run.stderr += text
    })
    child.once("error", (error) => {
      run.stderr += `\n[spawn error] ${error.message}`
    })
    this.runs.push(run)
    await this.waitHealthy(run)
  }

  private async waitHealthy(run: Run): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs
    while (Date.now() < deadline) {
      if (run.exit !== undefined) {
        throw new Error(
          `batchwrite serve exited before answering /healthz (code ${run.exit.code}, signal ${run.exit.signal}):\n${stderrOf(run)}${stdoutOf(run)}`
        )
      }
      try {
        const response = await fetch(`${this.origin}/healthz`, { signal: AbortSignal.timeout(1_000) })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    run.child.kill("SIGKILL")
    await withTimeout(run.exited, 5_000)
    throw new Error(`batchwrite serve did not answer /healthz within ${this.startTimeoutMs} ms:\n${stderrOf(run)}`)
  }

  /**
   * Sends SIGTERM and resolves with the exit code (`null` if a signal ended it). A process still alive after
   * `timeoutMs` is killed and the promise rejects: a graceful shutdown must finish.
   */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    const run = this.current
    if (run === undefined) throw new Error("batchwrite serve was never started")
    if (run.exit === undefined) run.child.kill("SIGTERM")
    const status = await withTimeout(run.exited, timeoutMs)
    if (status === "timeout") {
      run.child.kill("SIGKILL")
      await withTimeout(run.exited, 5_000)
      throw new Error(`batchwrite serve did not exit within ${timeoutMs} ms of SIGTERM:\n${stderrOf(run)}`)
    }
    return status.code
  }

  /** Kills the process with SIGKILL (a crash) and waits until it is gone. */
  async kill9(): Promise<void> {
    const run = this.current
    if (run === undefined || run.exit !== undefined) return
    run.child.kill("SIGKILL")
    const status = await withTimeout(run.exited, 10_000)
    if (status === "timeout") throw new Error("batchwrite serve survived SIGKILL for 10 s")
  }

  /** Starts the process again on the same database file and port (stopping it first with SIGTERM if running). */
  async restart(): Promise<void> {
    if (this.running) await this.stop()
    await this.launch()
  }

  /** Kills the process if it still runs and removes the temporary directory. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.disposed = true
    for (const run of this.runs) {
      if (run.exit === undefined) {
        run.child.kill("SIGKILL")
        await withTimeout(run.exited, 5_000)
      }
    }
    rmSync(this.directory, { recursive: true, force: true })
    liveDirectories.delete(this.directory)
    const drop = this.dropDatabase
    this.dropDatabase = undefined
    await drop?.()
  }

  /** Peak resident set size so far (`VmHWM` of `/proc/<pid>/status`), in bytes; `undefined` off Linux. */
  peakRssBytes(): number | undefined {
    return procStatusBytes(this.pid, "VmHWM")
  }

  /** Current resident set size (`VmRSS`), in bytes; `undefined` off Linux or when the process is gone. */
  rssBytes(): number | undefined {
    return procStatusBytes(this.pid, "VmRSS")
  }

  /** Resets the peak (`VmHWM`) to the current RSS (Linux `clear_refs` 5); `false` when the kernel does not allow it. */
  resetPeakRss(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, "5")
      return true
    } catch {
      return false
    }
  }

  /**
   * `fetch` on this server: `path` is relative to the origin (`/healthz`, `/public/v1/…`); the quick-start token is
   * sent unless `init.headers` has an `authorization` (use `authorization: ""` for none).
   */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${this.token}`)
    else if (headers.get("authorization") === "") headers.delete("authorization")
    return fetch(`${this.origin}${path}`, { ...init, headers })
  }
}

const procStatusBytes = (pid: number, field: "VmRSS" | "VmHWM"): number | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}
