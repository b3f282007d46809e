/**
 * When accepted jobs are done, from the service's own figures: `/metrics` is polled until the jobs that reached a
 * terminal state (completed or failed) cover every job of the row and the queue is empty; then the jobs themselves
 * (`GET …/jobs/{id}`, all of them or an even sample) give the accept → completed latency from their `createdAt` and
 * `completedAt`, and, when every job was read, the exact time the last one completed. The same polls sample the queue
 * depth (`batchwrite_queue_depth{state="queued"}`) over the row.
 */
import type { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { sleep } from "@batchwrite/server/testing/ServeProcess"

/** The counters of `/metrics` the harness reads. */
export interface Counters {
  readonly jobsCompleted: number
  readonly jobsFailed: number
  readonly recordsInserted: number
  readonly recordsUpdated: number
  readonly recordsInvalid: number
  readonly recordsStale: number
  readonly queued: number
  readonly processing: number
}

const counter = (text: string, name: string): number => {
  const escaped = name.replace(/[{}"=]/g, (c) => `\\${c}`)
  const match = new RegExp(`^${escaped} ([0-9.eE+-]+)$`, "m").exec(text)
  return match === null ? 0 : Number(match[1])
}

/** The job and record counters of the service now. */
export const readCounters = async (server: ServeProcess): Promise<Counters> => {
  const response = await fetch(`${server.origin}/metrics`)
  const text = await response.text()
  return {
    jobsCompleted: counter(text, 'batchwrite_jobs_total{state="completed"}'),
    jobsFailed: counter(text, 'batchwrite_jobs_total{state="failed"}'),
    recordsInserted: counter(text, 'batchwrite_records_committed_total{outcome="inserted"}'),
    recordsUpdated: counter(text, 'batchwrite_records_committed_total{outcome="updated"}'),
    recordsInvalid: counter(text, "batchwrite_records_invalid_total"),
    recordsStale: counter(text, "batchwrite_records_stale_total"),
    queued: counter(text, 'batchwrite_queue_depth{state="queued"}'),
    processing: counter(text, 'batchwrite_queue_depth{state="processing"}')
  }
}

/** What the jobs of a row did. */
export interface JobsOutcome {
  /** Wall-clock time (ms since the epoch) when the last job was terminal. */
  readonly doneAt: number
  readonly committedRecords: number
  readonly failedJobs: number
  readonly invalidRecords: number
  readonly jobLatencyMs: JobLatency
  /** How many jobs the latency percentiles come from. */
  readonly sampledJobs: number
  readonly queueDepth: QueueDepth
}

/** Accept → completed of the jobs read, milliseconds. */
export interface JobLatency {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/** Queued jobs (accepted, not yet claimed) in the `/metrics` polls of a row (each 50 ms after the previous answer). */
export interface QueueDepth {
  readonly mean: number
  readonly max: number
  readonly samples: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

/** The jobs of a row were not all terminal in time: the counters then, to report what was committed. */
export class JobsTimeout extends Error {
  constructor(
    readonly counters: Counters,
    readonly done: number,
    readonly jobs: number,
    readonly timeoutMs: number
  ) {
    super(`jobs not terminal after ${Math.round(timeoutMs / 1000)} s: ${done} of ${jobs} done`)
  }
}

/** Polls `/metrics` from before a row's first request, so the moment its jobs were all terminal is known. */
export interface JobWatch {
  /**
   * Resolves once `jobs` more jobs than at the start are terminal and the queue is empty (rejects after
   * `timeoutMs` with a {@link JobsTimeout}): the counters then, and when the terminal count first reached `jobs` (wall-clock ms).
   */
  readonly until: (jobs: number, timeoutMs: number) => Promise<{ readonly counters: Counters; readonly at: number }>
  readonly before: Counters
  /** The queue depth over the polls so far. */
  readonly queueDepth: () => QueueDepth
}

const terminalJobs = (counters: Counters) => counters.jobsCompleted + counters.jobsFailed

/**
 * Starts polling the service's counters every `intervalMs`. Each poll's terminal-job count is kept with the time its
 * answer came, so that `until` knows when a count was first reached even when it is asked later: the load ends on
 * autocannon's one-second tick, and jobs done with their `202`s (appends applied inline) were done up to a second
 * before anyone asked.
 */
export const watchJobs = async (server: ServeProcess, intervalMs = 50): Promise<JobWatch> => {
  const before = await readCounters(server)
  let latest = before
  // The polls' terminal-job counts (since `before`) and when each was read, in order.
  const polls: Array<{ readonly done: number; readonly at: number }> = []
  let stopped = false
  let depthSum = 0
  let depthMax = 0
  let depthSamples = 0
  const loop = (async () => {
    while (!stopped) {
      latest = await readCounters(server)
      polls.push({ done: terminalJobs(latest) - terminalJobs(before), at: Date.now() })
      depthSum += latest.queued
      depthMax = Math.max(depthMax, latest.queued)
      depthSamples++
      await sleep(intervalMs)
    }
  })()
  return {
    before,
    queueDepth: () => ({
      mean: depthSamples === 0 ? 0 : depthSum / depthSamples,
      max: depthMax,
      samples: depthSamples
    }),
    until: async (jobs, timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      while (true) {
        const done = terminalJobs(latest) - terminalJobs(before)
        if (done >= jobs && latest.queued === 0 && latest.processing === 0) break
        if (Date.now() > deadline) {
          stopped = true
          await loop
          throw new JobsTimeout(latest, done, jobs, timeoutMs)
        }
        await sleep(intervalMs / 2)
      }
      stopped = true
      await loop
      const reached = polls.find((poll) => poll.done >= jobs)
      return { counters: latest, at: reached?.at ?? Date.now() }
    }
  }
}

/**
 * Waits until every job of `jobIds` is terminal (at most `timeoutMs`), then reads up to `sampleSize` of them.
 */
export const awaitJobs = async (
  server: ServeProcess,
  objectName: string,
  jobIds: ReadonlyArray<string>,
  watch: JobWatch,
  options: { readonly sampleSize: number; readonly timeoutMs: number }
): Promise<JobsOutcome> => {
  const { counters: now, at: polledAt } = await watch.until(jobIds.length, options.timeoutMs)
  const before = watch.before
  const sampleCount = Math.min(jobIds.length, options.sampleSize)
  const sample = Array.from({ length: sampleCount }, (_, k) => jobIds[Math.floor((k * jobIds.length) / sampleCount)]!)
  const latencies: Array<number> = []
  let lastCompletedAt = 0
  let cursor = 0
  const readJobs = async () => {
    while (cursor < sample.length) {
      const jobId = sample[cursor++]!
      const response = await server.fetch(`/public/v1/records/${objectName}/jobs/${jobId}`)
      const job = ((await response.json()) as { data?: { createdAt?: string; completedAt?: string | null } }).data
      if (job?.createdAt === undefined || job.completedAt === undefined || job.completedAt === null) continue
      const completedAt = Date.parse(job.completedAt)
      latencies.push(completedAt - Date.parse(job.createdAt))
      lastCompletedAt = Math.max(lastCompletedAt, completedAt)
    }
  }
  await Promise.all(Array.from({ length: 8 }, readJobs))
  latencies.sort((a, b) => a - b)
  return {
    doneAt: sample.length === jobIds.length && lastCompletedAt > 0 ? lastCompletedAt : polledAt,
    committedRecords: now.recordsInserted + now.recordsUpdated - before.recordsInserted - before.recordsUpdated,
    failedJobs: now.jobsFailed - before.jobsFailed,
    invalidRecords: now.recordsInvalid - before.recordsInvalid,
    jobLatencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.length === 0 ? Number.NaN : latencies[latencies.length - 1]!
    },
    sampledJobs: latencies.length,
    queueDepth: watch.queueDepth()
  }
}
