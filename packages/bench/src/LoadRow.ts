/**
 * One bounded load run against a deployment: `connections` loops each send the next batch as soon as their previous
 * one is answered, until the row's time or records are used up. Every answer is counted by status; a `2xx` gives an
 * accept latency (request sent → answer) and a job id; a `429` or `503` closes the {@link RetryAfterGate} for its
 * `Retry-After` and the same batch is sent again after it; any other error status stops the row (a `400`, `401`,
 * `403` or `404` would only repeat).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect } from "effect"
import type { RetryAfterGate } from "./RetryAfterGate.js"
import { retryAfterSeconds } from "./RetryAfterGate.js"

/** What one row sends. */
export interface LoadSettings {
  /** The full URL the batches are posted to. */
  readonly url: string
  readonly token: string
  readonly connections: number
  readonly durationMs: number
  /** Most batches the row sends. */
  readonly maxBatches: number
  /** The JSON body of the `index`-th batch of the row. */
  readonly body: (index: number) => string
  readonly gate: RetryAfterGate
  /** Called after each answer, for the progress line. */
  readonly onAnswer?: ((status: number) => void) | undefined
}

/** A batch the service accepted. */
export interface AcceptedBatch {
  readonly index: number
  readonly jobId: string
}

/** What a row's load did. */
export interface LoadOutcome {
  readonly accepted: ReadonlyArray<AcceptedBatch>
  /** Accept latencies of the `2xx` answers, in milliseconds, in answer order. */
  readonly latenciesMs: ReadonlyArray<number>
  /** Answers by status (`"202"`, `"429"`, …). */
  readonly statuses: Readonly<Record<string, number>>
  /** Requests that got no answer (connection refused or dropped, no answer within 60 s). */
  readonly transportErrors: number
  /** The first answer that stopped the row, or the first transport error. */
  readonly firstError: string | undefined
  /** From the first request sent to the last answer. */
  readonly elapsedMs: number
}

const requestTimeout = Duration.seconds(60)
const jobIdPattern = /"jobId":"([^"]+)"/

/** Runs the row's load. */
export const runLoad = (settings: LoadSettings): Effect.Effect<LoadOutcome, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const accepted: Array<AcceptedBatch> = []
    const latenciesMs: Array<number> = []
    const statuses: Record<string, number> = {}
    let transportErrors = 0
    let firstError: string | undefined
    let next = 0
    let stopped = false
    const started = performance.now()
    const deadline = started + settings.durationMs
    let lastAnswer = started

    const count = (status: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1
      lastAnswer = performance.now()
      settings.onAnswer?.(status)
    }

    /** Sends one batch until it is answered for good (retrying after a 429/503) or the row's time is up. */
    const send = (index: number, body: string) =>
      Effect.gen(function* () {
        let transportFailures = 0
        while (!stopped) {
          yield* settings.gate.pass
          if (performance.now() >= deadline) return
          const request = HttpClientRequest.post(settings.url).pipe(
            HttpClientRequest.bearerToken(settings.token),
            HttpClientRequest.bodyText(body, "application/json")
          )
          const sentAt = performance.now()
          const answer = yield* http.execute(request).pipe(
            Effect.flatMap((response) =>
              Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))
            ),
            Effect.timeout(requestTimeout),
            Effect.either
          )
          if (answer._tag === "Left") {
            transportErrors++
            firstError ??= `no answer: ${answer.left.message}`
            if (++transportFailures >= 3) {
              stopped = true
              return
            }
            yield* Effect.sleep(Duration.seconds(1))
            continue
          }
          const { status, headers, text } = answer.right
          count(status)
          if (status >= 200 && status < 300) {
            latenciesMs.push(performance.now() - sentAt)
            const jobId = jobIdPattern.exec(text)?.[1]
            if (jobId !== undefined) accepted.push({ index, jobId })
            return
          }
          if (status === 429 || status === 503) {
            yield* settings.gate.hold(retryAfterSeconds(headers["retry-after"]))
            continue
          }
          firstError ??= `${status}: ${text.slice(0, 300)}`
          stopped = true
          return
        }
      })

    const connection = Effect.gen(function* () {
      while (!stopped && next < settings.maxBatches && performance.now() < deadline) {
        const index = next++
        yield* send(index, settings.body(index))
      }
    })
    yield* Effect.all(
      Array.from({ length: settings.connections }, () => connection),
      { concurrency: "unbounded" }
    )
    return {
      accepted,
      latenciesMs,
      statuses,
      transportErrors,
      firstError,
      elapsedMs: Math.max(1, lastAnswer - started)
    }
  })
