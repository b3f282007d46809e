/**
 * The jobs routes (SPEC §1.6): a job's state, metrics and first row errors, and the pages of all its row errors.
 * Bearer auth; every response carries `RateLimit` and `RateLimit-Policy`.
 */
import { HttpApiEndpoint, OpenApi } from "@effect/platform"
import { JobNotFoundEnvelope, ObjectNotFoundEnvelope, RequestInvalidEnvelope } from "./ApiErrors.js"
import { Authorization, authenticatedGroup } from "./Authorization.js"
import { basePath } from "./BasePath.js"
import { JobIdParam, ObjectParam } from "./PathParams.js"
import { PageParams, WaitHeaders } from "./RequestParameters.js"
import { JobErrorsPageResponse, JobResponse } from "./Responses.js"

/** `GET /public/v1/records/{object}/jobs/{jobId}`: the job; long-polls with `Prefer: wait=N`. */
export const getJob = HttpApiEndpoint.get("getJob")`/records/${ObjectParam}/jobs/${JobIdParam}`
  .setHeaders(WaitHeaders)
  .addSuccess(JobResponse)
  .addError(ObjectNotFoundEnvelope)
  .addError(JobNotFoundEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Get a job",
      description:
        "States: `queued` → `processing` → `completed` | `failed` (`failure` says why the job itself could not be " +
        "processed; row errors never fail a job). `errors` holds the first 100 row errors; `errorsPath` pages " +
        "through all of them. `sequence` is the job's place in the workspace's acceptance order. With " +
        "`Prefer: wait=N` (N ≤ 30) the response is held until the job is terminal or N seconds pass " +
        "(`Preference-Applied: wait=N`). A job of another workspace answers 404, exactly like a missing one."
    })
  )

/** `GET /public/v1/records/{object}/jobs/{jobId}/errors?limit=&cursor=`: a page of the job's row errors. */
export const listJobErrors = HttpApiEndpoint.get("listJobErrors")`/records/${ObjectParam}/jobs/${JobIdParam}/errors`
  .setUrlParams(PageParams)
  .addSuccess(JobErrorsPageResponse)
  .addError(RequestInvalidEnvelope)
  .addError(ObjectNotFoundEnvelope)
  .addError(JobNotFoundEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "List a job's row errors",
      description:
        "Every row error of the job, in record order, each with the rejected record itself (ready to " +
        "dead-letter): `{errors, nextCursor}`; pass `nextCursor` back as `cursor`, `null` on the last page."
    })
  )

/** The jobs routes, under `/public/v1`, with bearer auth. */
export const JobsGroup = authenticatedGroup("jobs")
  .add(getJob)
  .add(listJobErrors)
  .prefix(basePath)
  .middleware(Authorization)
  .annotateContext(OpenApi.annotations({ title: "jobs", description: "Batch jobs and their row errors" }))
