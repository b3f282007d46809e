/**
 * The client's errors told to a person: one line that says what went wrong and what to do about it. Everything
 * the service or the network answered is a failure of the work (exit 1); what the command can tell before it sends
 * anything (flags, files) is bad usage (exit 2, `UsageError`).
 */
import type { RecordsClientError } from "@batchwrite/client"
import { ErrorCode } from "@batchwrite/core"
import { Effect } from "effect"
import { type CliError, WorkError } from "./CliError.js"

/** What the command was doing, for the message. */
export interface FailureContext {
  /** The API URL the command talks to. */
  readonly url: string
  /** The object the command works on, if any. */
  readonly objectName?: string | undefined
  /** The job the command reads, if any. */
  readonly jobId?: string | undefined
}

const notFound = (code: string | undefined, context: FailureContext): string => {
  switch (code) {
    case ErrorCode.NotFoundObject:
      return `object '${context.objectName ?? "?"}' does not exist: see \`batchwrite objects list\`, or create it with \`batchwrite objects put ${context.objectName ?? "<name>"} schema.json\``
    case ErrorCode.NotFoundJob:
      return `job ${context.jobId ?? "?"} of object '${context.objectName ?? "?"}' does not exist (or belongs to another workspace): check the object name and the job id`
    case ErrorCode.NotFoundRoute:
      return `${context.url} does not look like a batchwrite API (404 for a batchwrite route): check --url (it ends in /public/v1)`
    default:
      return "not found (404)"
  }
}

const networkReasons: ReadonlyArray<readonly [RegExp, string]> = [
  [/ECONNREFUSED/, "connection refused"],
  [/ENOTFOUND|EAI_AGAIN/, "unknown host"],
  [/ETIMEDOUT|no answer within/, "timed out"],
  [/ECONNRESET|EPIPE|socket/i, "connection dropped"]
]

/** The reason a request got no answer, in a few words. */
const networkReason = (message: string): string =>
  networkReasons.find(([pattern]) => pattern.test(message))?.[1] ?? message

/** The message for a person. */
export const describeFailure = (error: RecordsClientError, context: FailureContext): string => {
  switch (error._tag) {
    case "TransportError":
      return `cannot reach the service at ${context.url} (${networkReason(error.message)}): is it running? Start it with \`batchwrite serve\`, or point --url at it`
    case "Unauthorized":
      return "the service refused the token (401): check --token or BATCHWRITE_TOKEN"
    case "Forbidden":
      return `the token may not do this (403: ${error.message}): use a token with the scope it needs`
    case "NotFound":
      return notFound(error.code, context)
    case "RateLimited":
      return `still rate limited after retrying for a minute (429): wait ${error.retryAfter} s, or lower --concurrency`
    case "ServerError":
      return `the service failed (${error.status}: ${error.message}): try again; see the service's log if it goes on`
    case "JobTimeout":
      return `${error.message}: see it later with \`batchwrite jobs get ${error.objectName} ${error.jobId} --wait\``
    case "JobFailed":
      return `job ${error.jobId} failed (${error.code}): ${error.message}`
    case "IdempotencyInProgress":
      return "the same batch is being sent by another run right now (409, still after retrying): wait for that run, then try again"
    case "InvalidRequest":
      return `the service refused the request (${error.status ?? "not sent"}${error.code === undefined ? "" : ` ${error.code}`}): ${error.message}`
    default:
      return `the service refused the request: ${error.message}`
  }
}

/** Maps the client's errors to the command's `WorkError`; the command's own errors pass as they are. */
export const asWorkError =
  (context: FailureContext) =>
  <A, E extends RecordsClientError | CliError, R>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, WorkError | Extract<E, CliError>, R> =>
    Effect.mapError(effect, (error) =>
      error._tag === "UsageError" || error._tag === "WorkError"
        ? (error as Extract<E, CliError>)
        : new WorkError({ message: describeFailure(error as RecordsClientError, context) })
    )
