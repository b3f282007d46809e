/**
 * Watching a `serve` process from a thread of its own, so that what the load generator does on the main thread never
 * delays a probe: `GET /healthz` one after another (each answer's latency; a probe that gets no answer counts its
 * whole wait), and the process's resident memory from `/proc/<pid>/status` every few milliseconds.
 */
import { Worker } from "node:worker_threads"

/** What the probe thread saw. */
export interface ProbeReport {
  readonly healthz: { readonly count: number; readonly failed: number; readonly maxMs: number; readonly p99Ms: number }
  readonly peakRssBytes: number
}

const threadCode = `
const { parentPort, workerData } = require("node:worker_threads")
const { readFileSync } = require("node:fs")
const { origin, pid, everyMs, rssEveryMs, timeoutMs } = workerData
const latencies = []
let failed = 0
let peakRss = 0
let stopping = false
const rss = () => {
  try {
    const match = /VmRSS:\\s+(\\d+) kB/.exec(readFileSync("/proc/" + pid + "/status", "utf8"))
    if (match) peakRss = Math.max(peakRss, Number(match[1]) * 1024)
  } catch {}
}
const rssTimer = setInterval(rss, rssEveryMs)
const loop = async () => {
  while (!stopping) {
    const started = performance.now()
    try {
      const response = await fetch(origin + "/healthz", { signal: AbortSignal.timeout(timeoutMs) })
      await response.arrayBuffer()
      if (response.status !== 200) failed++
    } catch {
      failed++
    }
    latencies.push(performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
const done = loop()
parentPort.on("message", async () => {
  stopping = true
  await done
  clearInterval(rssTimer)
  rss()
  const sorted = [...latencies].sort((a, b) => a - b)
  parentPort.postMessage({
    healthz: {
      count: latencies.length,
      failed,
      maxMs: Math.round(sorted[sorted.length - 1] ?? 0),
      p99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0)
    },
    peakRssBytes: peakRss
  })
})
`

/** Starts probing; `stop()` answers the report. */
export const startProbe = (options: {
  readonly origin: string
  readonly pid: number
  readonly everyMs?: number
  readonly rssEveryMs?: number
  readonly timeoutMs?: number
}): { readonly stop: () => Promise<ProbeReport> } => {
  const worker = new Worker(threadCode, {
    eval: true,
    workerData: {
      origin: options.origin,
      pid: options.pid,
      everyMs: options.everyMs ?? 100,
      rssEveryMs: options.rssEveryMs ?? 20,
      timeoutMs: options.timeoutMs ?? 60_000
    }
  })
  return {
    stop: () =>
      new Promise<ProbeReport>((resolve, reject) => {
        worker.once("message", (report: ProbeReport) => {
          void worker.terminate()
          resolve(report)
        })
        worker.once("error", reject)
        worker.postMessage("stop")
      })
  }
}
