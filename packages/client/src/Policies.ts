/**
 * The client's time policies as named `Schedule`s (SPEC §3): `retryPolicy` for failed requests (exponential
 * backoff with full jitter, capped, never shorter than `Retry-After`, bounded by attempts and elapsed time) and
 * `pollPolicy` for waiting on a job (2 s, ×1.5, capped at 15 s, jittered, until the job is terminal). Both are
 * values a user can replace; `RecordsClient` only retries the failures SPEC §3 allows, whatever the schedule.
 */
import { Job } from "@batchwrite/core"
import { Duration, Schedule } from "effect"
import { isRetryable, type RecordsClientError, retryAfterOf } from "./Errors.js"

/** The knobs of {@link retryPolicy}. */
export interface RetryOptions {
  /** The first backoff, before jitter; default 500 ms. */
  readonly base?: Duration.DurationInput
  /** Growth of the backoff per attempt; default 2. */
  readonly factor?: number
  /** The longest backoff, before jitter; default 30 s. A longer `Retry-After` still wins. */
  readonly cap?: Duration.DurationInput
  /** Most retries after the first attempt; default 8. */
  readonly maxRetries?: number
  /** No retry starts once this much time has passed since the first failure; default 2 minutes. */
  readonly maxElapsed?: Duration.DurationInput
}

/**
 * The retry schedule of SPEC §3. Recurs only on retryable failures (`429`, `5xx` but `501`/`505`, `408`, `409`
 * in progress, transport errors); waits a uniformly random time between 0 and `min(cap, base × factor^n)` (full
 * jitter), but never less than the failure's `Retry-After`; stops after `maxRetries` retries or once `maxElapsed`
 * has passed. Its output is the last failure.
 */
export const retryPolicy = (options: RetryOptions = {}): Schedule.Schedule<unknown, RecordsClientError> => {
  const cap = Duration.decode(options.cap ?? "30 seconds")
  const backoff = Schedule.exponential(options.base ?? "500 millis", options.factor ?? 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.jitteredWith({ min: 0, max: 1 })
  )
  return Schedule.identity<RecordsClientError>().pipe(
    Schedule.zipLeft(backoff),
    Schedule.modifyDelay((error, delay) => {
      const seconds = retryAfterOf(error)
      return seconds === undefined ? delay : Duration.max(delay, Duration.seconds(seconds))
    }),
    Schedule.whileInput((error: RecordsClientError) => isRetryable(error)),
    Schedule.zipLeft(Schedule.recurs(options.maxRetries ?? 8)),
    Schedule.upTo(options.maxElapsed ?? "2 minutes")
  )
}

/** The knobs of {@link pollPolicy}. */
export interface PollOptions {
  /** The first wait; default 2 s. */
  readonly initial?: Duration.DurationInput
  /** Growth of the wait per poll; default 1.5. */
  readonly factor?: number
  /** The longest wait, after jitter; default 15 s. */
  readonly cap?: Duration.DurationInput
}

/**
 * The job-polling schedule of SPEC §3: waits 2 s, then ×1.5 each time, jittered (×0.8–1.2), never more than 15 s;
 * recurs while the job it is given is not terminal, and outputs that job. `awaitJob` bounds it with a timeout
 * (default 120 s, then `JobTimeout`).
 */
export const pollPolicy = (options: PollOptions = {}): Schedule.Schedule<Job.Job, Job.Job> => {
  const cap = Duration.decode(options.cap ?? "15 seconds")
  const waits = Schedule.exponential(options.initial ?? "2 seconds", options.factor ?? 1.5).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap))
  )
  return Schedule.identity<Job.Job>().pipe(
    Schedule.zipLeft(waits),
    Schedule.whileInput((job: Job.Job) => !Job.isTerminal(job.state))
  )
}

/** How long `awaitJob` polls before failing with `JobTimeout`, by default: 120 s. */
export const defaultPollTimeout: Duration.Duration = Duration.seconds(120)
