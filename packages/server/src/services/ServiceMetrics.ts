/**
 * The service's Prometheus metrics (SPEC §1.10): requests by route and status, records accepted, committed,
 * stale and invalid, queue depth, and a histogram of job latency (accepted → terminal). Counters are per process,
 * as Prometheus expects; each node reports its own.
 */
import { Effect } from "effect"

/** Upper bounds (seconds) of the job-latency histogram buckets. */
export const jobLatencyBuckets: ReadonlyArray<number> = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

/** What a finished job adds to the metrics. */
export interface JobOutcome {
  readonly state: "completed" | "failed"
  readonly insertedRows: number
  readonly updatedRows: number
  readonly staleRows: number
  readonly invalidRows: number
  /** From acceptance to the terminal state. */
  readonly latencySeconds: number
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/** The metrics of this process. */
export class ServiceMetrics extends Effect.Service<ServiceMetrics>()("server/ServiceMetrics", {
  sync: () => {
    const requests = new Map<string, number>()
    const records = { accepted: 0, inserted: 0, updated: 0, stale: 0, invalid: 0 }
    const jobs = { completed: 0, failed: 0 }
    const latency = { counts: jobLatencyBuckets.map(() => 0), sum: 0, count: 0 }
    return {
      /** Counts one answered request, by its route template (never a raw path: labels must stay few). */
      recordRequest: (method: string, route: string, status: number) =>
        Effect.sync(() => {
          const key = `${method} ${route} ${status}`
          requests.set(key, (requests.get(key) ?? 0) + 1)
        }),
      /** Counts the records of an accepted batch. */
      recordAccepted: (count: number) =>
        Effect.sync(() => {
          records.accepted += count
        }),
      /** Counts a job that reached a terminal state. */
      recordJob: (outcome: JobOutcome) =>
        Effect.sync(() => {
          jobs[outcome.state] += 1
          records.inserted += outcome.insertedRows
          records.updated += outcome.updatedRows
          records.stale += outcome.staleRows
          records.invalid += outcome.invalidRows
          jobLatencyBuckets.forEach((bound, i) => {
            if (outcome.latencySeconds <= bound) latency.counts[i]! += 1
          })
          latency.sum += outcome.latencySeconds
          latency.count += 1
        }),
      /** Records applied or rejected by completed jobs so far (inserted, updated, stale, invalid): the drain. */
      committedRecords: Effect.sync(() => records.inserted + records.updated + records.stale + records.invalid),
      /** The Prometheus text exposition, with the queue depth read at scrape time. */
      render: (queueDepth: { readonly queued: number; readonly processing: number }): string => {
        const lines: Array<string> = [
          "# HELP batchwrite_http_requests_total HTTP requests answered, by route template, method and status.",
          "# TYPE batchwrite_http_requests_total counter"
        ]
        for (const [key, count] of [...requests].sort(([a], [b]) => a.localeCompare(b))) {
          const [method, route, status] = key.split(" ")
          lines.push(
            `batchwrite_http_requests_total{method="${method}",route="${escapeLabel(route!)}",status="${status}"} ${count}`
          )
        }
        lines.push(
          "# HELP batchwrite_records_accepted_total Records in batches answered 202.",
          "# TYPE batchwrite_records_accepted_total counter",
          `batchwrite_records_accepted_total ${records.accepted}`,
          "# HELP batchwrite_records_committed_total Records applied by jobs, by outcome.",
          "# TYPE batchwrite_records_committed_total counter",
          `batchwrite_records_committed_total{outcome="inserted"} ${records.inserted}`,
          `batchwrite_records_committed_total{outcome="updated"} ${records.updated}`,
          "# HELP batchwrite_records_stale_total Upserts not applied because of the object's orderBy.",
          "# TYPE batchwrite_records_stale_total counter",
          `batchwrite_records_stale_total ${records.stale}`,
          "# HELP batchwrite_records_invalid_total Records rejected by validation while a job ran.",
          "# TYPE batchwrite_records_invalid_total counter",
          `batchwrite_records_invalid_total ${records.invalid}`,
          "# HELP batchwrite_jobs_total Jobs that reached a terminal state.",
          "# TYPE batchwrite_jobs_total counter",
          `batchwrite_jobs_total{state="completed"} ${jobs.completed}`,
          `batchwrite_jobs_total{state="failed"} ${jobs.failed}`,
          "# HELP batchwrite_queue_depth Jobs waiting or running (all nodes sharing the storage).",
          "# TYPE batchwrite_queue_depth gauge",
          `batchwrite_queue_depth{state="queued"} ${queueDepth.queued}`,
          `batchwrite_queue_depth{state="processing"} ${queueDepth.processing}`,
          "# HELP batchwrite_job_latency_seconds From acceptance to the terminal state.",
          "# TYPE batchwrite_job_latency_seconds histogram"
        )
        jobLatencyBuckets.forEach((bound, i) => {
          lines.push(`batchwrite_job_latency_seconds_bucket{le="${bound}"} ${latency.counts[i]}`)
        })
        lines.push(
          `batchwrite_job_latency_seconds_bucket{le="+Inf"} ${latency.count}`,
          `batchwrite_job_latency_seconds_sum ${latency.sum}`,
          `batchwrite_job_latency_seconds_count ${latency.count}`
        )
        return `${lines.join("\n")}\n`
      }
    } as const
  }
}) {}
