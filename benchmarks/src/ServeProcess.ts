/**
 * A fresh `batchwrite serve` for one backend, as a separate process on a free port: the built CLI
 * (`apps/cli/dist/bin.js`), a new database, a rate limit high enough never to answer 429, its request log sent to
 * a file. Reads the server's memory from `/proc/<pid>/status` and stops it with SIGTERM (SIGKILL after a bound).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The built `batchwrite` binary. */
export const binPath = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url))

/** When the built CLI was last built, to print beside the results (a stale build measures old code). */
export const binBuiltAt = (): string | undefined =>
  existsSync(binPath) ? statSync(binPath).mtime.toISOString() : undefined

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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** How to start the service. */
export interface ServeOptions {
  /** `--database`; `undefined` for a fresh SQLite file in the temporary directory. */
  readonly database?: string | undefined
  readonly workers: number
  /** Extra `node` flags, e.g. `--cpu-prof --cpu-prof-dir <dir>`. */
  readonly nodeArgs?: ReadonlyArray<string> | undefined
}

const statusField = (pid: number, field: "VmRSS" | "VmHWM"): number | undefined => {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

/** A running `batchwrite serve`. */
export class ServeProcess {
  readonly origin: string

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly token: string,
    readonly directory: string,
    private readonly exited: Promise<number | null>
  ) {
    this.origin = `http://127.0.0.1:${port}`
  }

  /** Starts the service and resolves once `/healthz` answers; rejects with its stderr if it exits first. */
  static async start(options: ServeOptions): Promise<ServeProcess> {
    if (!existsSync(binPath)) {
      throw new Error(`the built CLI is missing (${binPath}): run \`cd apps/cli && pnpm -s build\` first`)
    }
    const port = await freePort()
    const directory = mkdtempSync(join(tmpdir(), "batchwrite-bench-"))
    const token = `bench-${Math.random().toString(36).slice(2)}`
    const database = options.database ?? `sqlite:${join(directory, "batchwrite.db")}`
    const args = [
      ...(options.nodeArgs ?? []),
      binPath,
      "serve",
      "--port",
      String(port),
      "--database",
      database,
      "--workers",
      String(options.workers),
      "--rate-limit",
      "1000000"
    ]
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("BATCHWRITE_"))
    )
    env.BATCHWRITE_TOKEN = token
    const stdout = openSync(join(directory, "requests.log"), "w")
    const stderr = openSync(join(directory, "stderr.log"), "w")
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", stdout, stderr] })
    live.add(child)
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code) => {
        live.delete(child)
        resolve(code)
      })
    })
    const server = new ServeProcess(child, port, token, directory, exited)
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break
      try {
        const response = await fetch(`${server.origin}/healthz`, { signal: AbortSignal.timeout(1_000) })
        await response.arrayBuffer()
        if (response.status === 200) return server
      } catch {
        // not listening yet
      }
      await sleep(50)
    }
    const log = server.stderr()
    await server.stop()
    throw new Error(`batchwrite serve did not start (${database}):\n${log.trim()}`)
  }

  /** What the process wrote on stderr so far. */
  stderr(): string {
    try {
      return readFileSync(join(this.directory, "stderr.log"), "utf8")
    } catch {
      return ""
    }
  }

  /** Current resident set size in bytes. */
  rssBytes(): number | undefined {
    return this.child.pid === undefined ? undefined : statusField(this.child.pid, "VmRSS")
  }

  /** Peak resident set size (`VmHWM`) in bytes since start or the last {@link resetPeakRss}. */
  peakRssBytes(): number | undefined {
    return this.child.pid === undefined ? undefined : statusField(this.child.pid, "VmHWM")
  }

  /** Resets `VmHWM` to the current RSS (Linux `clear_refs` 5); `false` when the kernel does not allow it. */
  resetPeakRss(): boolean {
    try {
      writeFileSync(`/proc/${this.child.pid}/clear_refs`, "5")
      return true
    } catch {
      return false
    }
  }

  /** `fetch` on the service with the token. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set("authorization", `Bearer ${this.token}`)
    return fetch(`${this.origin}${path}`, { ...init, headers })
  }

  /** SIGTERM, then SIGKILL after 15 s; removes the temporary directory. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM")
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000)
    const code = await this.exited
    clearTimeout(timer)
    rmSync(this.directory, { recursive: true, force: true })
    return code
  }
}

const live = new Set<ChildProcess>()
/** No server outlives the harness, even when it fails or is interrupted. */
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})
