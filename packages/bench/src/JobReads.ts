/**
 * When a row's records are committed, from its jobs alone (`GET …/jobs/{jobId}` with `Prefer: wait`, so a job not
 * yet done answers when it is): every job is read until it is terminal, which gives the records inserted, updated and
 * rejected, the accept → completed latency of each job, and the span from the first job's `createdAt` to the last
 * `completedAt` (both the service's clock, so a client clock far from the service's does not matter). Job reads
 * honour `429` like the load does; they count against the token's rate limit.
 */
import { JobResponse } from "@batchwrite/api"
import { Job } from "@batchwrite/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Schema } from "effect"
import type { RetryAfterGate } from "./RetryAfterGate.js"
import { retryAfterSeconds } from "./RetryAfterGate.js"

/** What the jobs of a row did. */
export interface JobsOutcome {
  readonly jobs: number
  /** Jobs read to a terminal state. */
  readonly terminal: number
  readonly failedJobs: number
  readonly inserted: number
  readonly updated: number
  readonly stale: number
  readonly invalid: number
  /** From the first job's `createdAt` to the last `completedAt`, in milliseconds (the service's clock). */
  readonly spanMs: number
  /** Accept → completed of each terminal job. */
  readonly latenciesMs: ReadonlyArray<number>
  /** Answers of the job reads by status, other than `200`. */
  readonly readStatuses: Readonly<Record<string, number>>
  /** Jobs not terminal when the time ran out. */
  readonly timedOut: number
  /** Why a job could not be read, the first time. */
  readonly firstError: string | undefined
}

const decodeJob = Schema.decodeUnknownEither(Schema.parseJson(JobResponse))

/** Reads every job until it is terminal or `timeoutMs` has passed, `concurrency` reads at a time. */
export const awaitJobs = (options: {
  readonly baseUrl: string
  readonly token: string
  readonly objectName: string
  readonly jobIds: ReadonlyArray<string>
  readonly gate: RetryAfterGate
  readonly timeoutMs: number
  readonly concurrency: number
}): Effect.Effect<JobsOutcome, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const deadline = Date.now() + options.timeoutMs
    const done: Array<Job.Job> = []
    const readStatuses: Record<string, number> = {}
    let timedOut = 0
    let firstError: string | undefined

    const read = (jobId: string) =>
      Effect.gen(function* () {
        while (true) {
          yield* options.gate.pass
          const left = Math.floor((deadline - Date.now()) / 1000)
          if (left < 1) {
            timedOut++
            return
          }
          const request = HttpClientRequest.get(
            `${options.baseUrl}/records/${options.objectName}/jobs/${encodeURIComponent(jobId)}`
          ).pipe(
            HttpClientRequest.bearerToken(options.token),
            HttpClientRequest.setHeader("prefer", `wait=${Math.min(10, left)}`)
          )
          const answer = yield* http.execute(request).pipe(
            Effect.flatMap((response) =>
              Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))
            ),
            Effect.timeout(Duration.seconds(30)),
            Effect.either
          )
          if (answer._tag === "Left") {
            firstError ??= `job ${jobId}: no answer: ${answer.left.message}`
            yield* Effect.sleep(Duration.seconds(1))
            continue
          }
          const { status, headers, text } = answer.right
          if (status !== 200) readStatuses[status] = (readStatuses[status] ?? 0) + 1
          if (status === 429 || status === 503) {
            yield* options.gate.hold(retryAfterSeconds(headers["retry-after"]))
            continue
          }
          if (status !== 200) {
            firstError ??= `job ${jobId}: ${status}: ${text.slice(0, 300)}`
            return
          }
          const decoded = decodeJob(text)
          if (Either.isLeft(decoded)) {
            firstError ??= `job ${jobId}: the answer is not a job: ${text.slice(0, 200)}`
            return
          }
          const job = decoded.right.data
          if (Job.isTerminal(job.state)) {
            done.push(job)
            return
          }
        }
      })

    yield* Effect.forEach(options.jobIds, read, { concurrency: options.concurrency, discard: true })
    const completed = done.filter((job) => job.completedAt !== null && job.completedAt !== undefined)
    const created = done.map((job) => Date.parse(job.createdAt))
    const finished = completed.map((job) => Date.parse(job.completedAt!))
    const sum = (pick: (job: Job.Job) => number) => done.reduce((total, job) => total + pick(job), 0)
    return {
      jobs: options.jobIds.length,
      terminal: done.length,
      failedJobs: done.filter((job) => job.state === "failed").length,
      inserted: sum((job) => job.metrics.insertedRows),
      updated: sum((job) => job.metrics.updatedRows),
      stale: sum((job) => job.metrics.staleRows),
      invalid: sum((job) => job.metrics.invalidRows),
      spanMs: finished.length === 0 ? 0 : Math.max(...finished) - Math.min(...created),
      latenciesMs: completed.map((job) => Date.parse(job.completedAt!) - Date.parse(job.createdAt)),
      readStatuses,
      timedOut,
      firstError
    }
  })
