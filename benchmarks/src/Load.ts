/**
 * One load run with autocannon: every body sent exactly once (a shared counter hands each new request the next
 * body, whichever connection sends it), `connections` connections without pipelining, and what the answers said:
 * statuses, the job id of every `202`, accept latency percentiles and wall time.
 */
import autocannon from "autocannon"

/** What to send. */
export interface LoadOptions {
  readonly url: string
  readonly path: string
  readonly token: string
  readonly bodies: ReadonlyArray<Buffer>
  readonly connections: number
  /** Collect the `jobId` of each `202` answer. */
  readonly collectJobIds: boolean
}

/** What a run measured. */
export interface LoadResult {
  readonly requests: number
  readonly ok: number
  readonly non2xx: number
  /** Connection errors, timeouts included. */
  readonly errors: number
  /** Statuses other than 2xx and how often, with the first error body seen. */
  readonly failures: ReadonlyArray<{ readonly status: number; readonly count: number; readonly example: string }>
  readonly jobIds: ReadonlyArray<string>
  /** From the first request sent to the last answer, in milliseconds. */
  readonly elapsedMs: number
  readonly startedAt: number
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }
}

const jobIdPattern = /"jobId":"([^"]+)"/

/** Sends every body once and resolves when every answer is in. */
export const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const { bodies } = options
  let next = 0
  const jobIds: Array<string> = []
  const failures = new Map<number, { count: number; example: string }>()
  let ok = 0
  // autocannon only notices the end of a run on its one-second tick: time the first send and the last answer here.
  let startedAt = 0
  let started = 0
  let lastAnswer = 0
  const result = await autocannon({
    url: options.url,
    connections: Math.min(options.connections, bodies.length),
    pipelining: 1,
    amount: bodies.length,
    timeout: 60,
    requests: [
      {
        method: "POST",
        path: options.path,
        headers: { "content-type": "application/json", authorization: `Bearer ${options.token}` },
        setupRequest: (request) => {
          if (next === 0) {
            startedAt = Date.now()
            started = performance.now()
          }
          return { ...request, body: bodies[next++ % bodies.length]! }
        },
        onResponse: (status, body) => {
          lastAnswer = performance.now()
          if (status >= 200 && status < 300) {
            ok++
            if (options.collectJobIds) {
              const match = jobIdPattern.exec(body)
              if (match !== null) jobIds.push(match[1]!)
            }
            return
          }
          const seen = failures.get(status)
          if (seen === undefined) failures.set(status, { count: 1, example: body.slice(0, 300) })
          else seen.count++
        }
      }
    ]
  })
  const elapsedMs = (lastAnswer > 0 ? lastAnswer : performance.now()) - started
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    failures: Array.from(failures, ([status, { count, example }]) => ({ status, count, example })),
    jobIds,
    elapsedMs,
    startedAt,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max
    }
  }
}
