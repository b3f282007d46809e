/**
 * The synchronous baseline: the same bodies of a row, over the same number of connections, posted to a minimal
 * HTTP service (`syncBaselineServer.ts`, its own process) that writes each request's records into natural tables
 * of the same backend and answers after the commit. Its records/s is what a plain HTTP → database service reaches
 * on this machine; batchwrite's committed records/s is compared with it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { freePort, sleep } from "@batchwrite/server/testing/ServeProcess"
import { runLoad } from "./Load.js"

/** The baseline of one row. */
export interface SyncBaselineRow {
  readonly recordsPerSec: number
  readonly requestsPerSec: number
  readonly latencyP99Ms: number
  /** Non-2xx answers and connection errors. */
  readonly errors: number
  /** The first error answer, `<status>: <body>` (what the database said), when there was one. */
  readonly firstError?: string | undefined
}

/** A running baseline service. */
export interface SyncBaseline {
  readonly origin: string
  /** Empties its tables, then sends every body once; records/s from the first request to the last answer. */
  readonly measure: (
    path: string,
    bodies: ReadonlyArray<Buffer>,
    batchSize: number,
    connections: number
  ) => Promise<SyncBaselineRow>
  readonly stop: () => Promise<void>
}

const script = fileURLToPath(new URL("./syncBaselineServer.ts", import.meta.url))

/**
 * Starts the baseline service on `database` (`sqlite:<file>` or a `postgres://` URL; PostgreSQL through a pool of
 * `poolSize` connections) and resolves once it answers.
 */
export const startSyncBaseline = async (database: string, poolSize: number): Promise<SyncBaseline> => {
  const port = await freePort()
  // The harness runs under tsx: the child gets the same loader flags.
  const child: ChildProcess = spawn(
    process.execPath,
    [...process.execArgv, script, String(port), database, String(poolSize)],
    {
      stdio: ["ignore", "ignore", "inherit"]
    }
  )
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const kill = () => child.kill("SIGKILL")
  process.once("exit", kill)
  const origin = `http://127.0.0.1:${port}`
  const stop = async () => {
    child.kill("SIGTERM")
    const timer = setTimeout(kill, 10_000)
    await exited
    clearTimeout(timer)
    process.removeListener("exit", kill)
  }
  const reset = async () => {
    const response = await fetch(`${origin}/reset`, { method: "POST" })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`the synchronous baseline could not reset its tables: ${text}`)
  }
  for (let attempt = 0; attempt < 400; attempt++) {
    if (child.exitCode !== null) break
    try {
      await reset()
      return {
        origin,
        stop,
        measure: async (path, bodies, batchSize, connections) => {
          await reset()
          const load = await runLoad({
            url: origin,
            path,
            token: "baseline",
            bodies,
            connections,
            collectJobIds: false
          })
          return {
            recordsPerSec: (load.ok * batchSize) / (load.elapsedMs / 1000),
            requestsPerSec: load.ok / (load.elapsedMs / 1000),
            latencyP99Ms: load.latencyMs.p99,
            errors: load.non2xx + load.errors,
            firstError:
              load.failures[0] === undefined ? undefined : `${load.failures[0].status}: ${load.failures[0].example}`
          }
        }
      }
    } catch {
      await sleep(50)
    }
  }
  await stop()
  throw new Error("the synchronous baseline service did not start")
}
