/**
 * One row against the running service: send every body once, wait until every accepted job is terminal, read the
 * job latencies, and track the service's peak memory meanwhile. Then the same bodies go to the bare HTTP server
 * (repeated up to 200 requests at least).
 */
import type { Operation } from "./Bodies.js"
import { objectOf, pathOf } from "./Bodies.js"
import { awaitJobs, type JobsOutcome, JobsTimeout, watchJobs } from "./JobTracking.js"
import { runLoad } from "./Load.js"
import type { HttpCeiling, Row } from "./Results.js"
import type { ServeProcess } from "@batchwrite/server/testing/ServeProcess"

/** How a row runs. */
export interface RowSettings {
  readonly backend: string
  readonly operation: Operation
  readonly batchSize: number
  readonly bodies: ReadonlyArray<Buffer>
  readonly connections: number
  readonly jobSample: number
  /** How long the jobs of the row may take after the last answer before the row is given up. */
  readonly timeoutMs: number
  /** The bare server's origin, for the HTTP ceiling of the same bodies; `undefined` to skip it. */
  readonly bareOrigin: string | undefined
}

const mb = (bytes: number | undefined) => (bytes === undefined ? null : Math.round((bytes / 1048576) * 10) / 10)

/** A row before it is set beside the ceilings and the baseline. */
export type MeasuredRow = Omit<
  Row,
  | "fractionOfStorageCeiling"
  | "fractionOfDatabaseCeiling"
  | "databaseCeilingRecordsPerSec"
  | "fractionOfSyncBaseline"
  | "syncBaselineRecordsPerSec"
  | "rounds"
>

/** Measures one row; the HTTP ceiling of the same bodies comes back beside it. */
export const measureRow = async (
  server: ServeProcess,
  settings: RowSettings
): Promise<{
  readonly row: MeasuredRow
  readonly httpCeiling: HttpCeiling | undefined
  readonly timedOut: boolean
}> => {
  const { operation, batchSize, bodies } = settings
  const objectName = objectOf(operation)
  const synchronous = operation === "single-record"
  const watch = synchronous ? undefined : await watchJobs(server)
  const resetWorked = server.resetPeakRss()
  let sampledPeak = server.rssBytes() ?? 0
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, server.rssBytes() ?? 0)
  }, 100)
  const load = await runLoad({
    url: server.origin,
    path: pathOf(operation, objectName),
    token: server.token,
    bodies,
    connections: settings.connections,
    collectJobIds: !synchronous
  })
  let timedOut: JobsTimeout | undefined
  const jobs: JobsOutcome | undefined =
    watch === undefined
      ? undefined
      : await awaitJobs(server, objectName, load.jobIds, watch, {
          sampleSize: settings.jobSample,
          timeoutMs: settings.timeoutMs
        }).catch((error: unknown) => {
          if (!(error instanceof JobsTimeout)) throw error
          timedOut = error
          const { counters } = error
          return {
            doneAt: Date.now(),
            committedRecords:
              counters.recordsInserted +
              counters.recordsUpdated -
              watch.before.recordsInserted -
              watch.before.recordsUpdated,
            failedJobs: counters.jobsFailed - watch.before.jobsFailed,
            invalidRecords: counters.recordsInvalid - watch.before.recordsInvalid,
            jobLatencyMs: { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN },
            sampledJobs: 0,
            queueDepth: watch.queueDepth()
          }
        })
  clearInterval(sampler)
  const peak = Math.max(sampledPeak, resetWorked ? (server.peakRssBytes() ?? 0) : 0)

  const acceptedRecords = load.ok * batchSize
  const committedRecords = jobs === undefined ? acceptedRecords : jobs.committedRecords
  const committedMs = jobs === undefined ? load.elapsedMs : Math.max(load.elapsedMs, jobs.doneAt - load.startedAt)
  const errorDetails: Array<string> = []
  if (timedOut !== undefined) errorDetails.push(`${timedOut.message}; the row was given up`)
  for (const failure of load.failures) errorDetails.push(`${failure.count} × ${failure.status}: ${failure.example}`)
  if (load.errors > 0) errorDetails.push(`${load.errors} connection errors or timeouts`)
  if (jobs !== undefined && jobs.failedJobs > 0) errorDetails.push(`${jobs.failedJobs} jobs failed`)
  if (jobs !== undefined && jobs.invalidRecords > 0) errorDetails.push(`${jobs.invalidRecords} records invalid`)
  if (committedRecords !== acceptedRecords) {
    errorDetails.push(`${acceptedRecords} records accepted but ${committedRecords} committed`)
  }
  const committedRecordsPerSec = committedRecords / (committedMs / 1000)
  const row: MeasuredRow = {
    backend: settings.backend,
    operation,
    batchSize,
    requests: load.requests,
    requestsPerSec: load.ok / (load.elapsedMs / 1000),
    acceptedRecordsPerSec: acceptedRecords / (load.elapsedMs / 1000),
    committedRecordsPerSec,
    latencyMs: load.latencyMs,
    jobLatencyMs: jobs === undefined ? null : jobs.jobLatencyMs,
    jobsSampled: jobs?.sampledJobs ?? 0,
    queueDepth: jobs?.queueDepth ?? null,
    non2xx: load.non2xx,
    errors:
      load.non2xx +
      load.errors +
      (jobs?.failedJobs ?? 0) +
      (jobs?.invalidRecords ?? 0) +
      Math.abs(acceptedRecords - committedRecords),
    errorDetails,
    serverPeakRssMb: mb(peak > 0 ? peak : undefined),
    httpCeilingRecordsPerSec: null
  }
  if (settings.bareOrigin === undefined || timedOut !== undefined) {
    return { row, httpCeiling: undefined, timedOut: timedOut !== undefined }
  }

  // The bare server keeps nothing, so the bodies may repeat: at least 200 requests make the timing meaningful.
  const repeats = Math.ceil(200 / bodies.length)
  const bare = await runLoad({
    url: settings.bareOrigin,
    path: pathOf(operation, objectName),
    token: server.token,
    bodies: repeats > 1 ? Array.from({ length: repeats }, () => bodies).flat() : bodies,
    connections: settings.connections,
    collectJobIds: false
  })
  const httpCeiling: HttpCeiling = {
    operation,
    batchSize,
    requestsPerSec: bare.ok / (bare.elapsedMs / 1000),
    recordsPerSec: (bare.ok * batchSize) / (bare.elapsedMs / 1000),
    latencyP99Ms: bare.latencyMs.p99
  }
  return { row: { ...row, httpCeilingRecordsPerSec: httpCeiling.recordsPerSec }, httpCeiling, timedOut: false }
}
