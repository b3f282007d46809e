/**
 * The job endpoints (SPEC §1.6): a job's state, metrics and first row errors (long-polling with `Prefer: wait=N`),
 * and every row error with its rejected record, paged.
 */
import { ErrorCode, Job, Limits } from "@batchwrite/core"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { CurrentPrincipal } from "../Auth.js"
import { JobsRepo } from "../JobsRepo.js"
import { notFound } from "./ApiFailure.js"
import { finishedJob } from "./BatchRoutes.js"
import { preferredWait } from "./Prefer.js"
import { invalidCursor, pageLimit } from "./Paging.js"
import { success } from "./Responses.js"
import { authorized } from "./Route.js"

const jobNotFound = (jobId: string) =>
  notFound(ErrorCode.NotFoundJob, `job '${jobId}' does not exist for this object in this workspace`)

const jobParams = Effect.map(HttpRouter.params, ({ jobId, object }) => ({
  objectName: object ?? "",
  jobId: jobId ?? ""
}))

const getJob = authorized("any")(
  Effect.gen(function* () {
    const { jobId, objectName } = yield* jobParams
    const principal = yield* CurrentPrincipal
    const request = yield* HttpServerRequest.HttpServerRequest
    const jobs = yield* JobsRepo
    const job = yield* Effect.flatMap(
      jobs.get(principal.workspace, objectName, jobId),
      Option.match({
        onNone: () => Effect.fail(jobNotFound(jobId)),
        onSome: Effect.succeed
      })
    )
    const wait = preferredWait(request.headers.prefer)
    if (Option.isNone(wait) || Job.isTerminal(job.state)) return success(200, job)
    const finished = yield* finishedJob(principal.workspace, objectName, jobId, wait.value)
    return success(
      200,
      Option.getOrElse(finished, () => job),
      { "preference-applied": `wait=${wait.value}` }
    )
  })
)

const getJobErrors = authorized("any")(
  Effect.gen(function* () {
    const { jobId, objectName } = yield* jobParams
    const principal = yield* CurrentPrincipal
    const request = yield* HttpServerRequest.HttpServerRequest
    const query = new URL(request.url, "http://localhost").searchParams
    const limit = yield* pageLimit(query.get("limit"), Limits.maxPageLimit)
    const page = yield* (yield* JobsRepo)
      .errorsPage(principal.workspace, objectName, jobId, {
        limit,
        cursor: query.get("cursor") ?? undefined
      })
      .pipe(Effect.catchTag("InvalidCursor", () => Effect.fail(invalidCursor())))
    return yield* Option.match(page, {
      onNone: () => Effect.fail(jobNotFound(jobId)),
      onSome: (page) => Effect.succeed(success(200, page))
    })
  })
)

/** The job routes. */
export const jobRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/public/v1/records/:object/jobs/:jobId", getJob),
  HttpRouter.get("/public/v1/records/:object/jobs/:jobId/errors", getJobErrors)
)
