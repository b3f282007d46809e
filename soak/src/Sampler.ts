/**
 * Samples of a `serve` process, every few seconds: resident memory and open file descriptors (sockets, files) from
 * `/proc/<pid>`, and the queue depth and size of its `/metrics`.
 */
import { readdirSync, readFileSync } from "node:fs"
import { readMetrics } from "./Rows.js"

/** One sample. */
export interface Sample {
  /** Seconds since sampling began. */
  readonly t: number
  readonly rssBytes: number
  readonly fds: number
  readonly queueDepth: number
  readonly metricsBytes: number
}

const rssOf = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1]) * 1024
}

/** Takes one sample of process `pid` serving at `origin`. */
export const sample = async (pid: number, origin: string, token: string, startedAt: number): Promise<Sample> => {
  const metrics = await readMetrics(origin, token)
  return {
    t: (Date.now() - startedAt) / 1000,
    rssBytes: rssOf(pid),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    queueDepth: metrics.queued + metrics.processing,
    metricsBytes: metrics.bytes
  }
}
