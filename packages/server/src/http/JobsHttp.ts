/**
 * The jobs routes of the contract (SPEC §1.6): a job, long-polled with `Prefer: wait=N`, and the pages of its row
 * errors.
 */
import { BatchwriteApi, Caller } from "@batchwrite/api"
import { Job, Limits } from "@batchwrite/core"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Jobs } from "../services/Jobs.js"
import { answering } from "./ErrorMapping.js"
import { preferredWait } from "./Prefer.js"
import { ok } from "./Responses.js"

/** The handlers of the jobs group. */
export const JobsHttpLive = HttpApiBuilder.group(BatchwriteApi, "jobs", (handlers) =>
  handlers
    .handle("getJob", ({ headers, path }) =>
      Effect.gen(function* () {
        const { workspace } = yield* Caller
        const jobs = yield* Jobs
        const job = yield* answering(jobs.get(workspace, path.object, path.jobId))
        const wait = preferredWait(headers.prefer)
        if (Option.isNone(wait) || Job.isTerminal(job.state)) return ok(job)
        const finished = yield* answering(jobs.awaitFinished(workspace, path.object, path.jobId, wait.value, "first"))
        return ok(
          Option.getOrElse(finished, () => job),
          { "preference-applied": `wait=${wait.value}` }
        )
      })
    )
    .handle("listJobErrors", ({ path, urlParams }) =>
      Effect.gen(function* () {
        const { workspace } = yield* Caller
        const jobs = yield* Jobs
        const page = {
          limit: urlParams.limit ?? Math.min(Limits.defaultPageLimit, Limits.maxPageLimit),
          cursor: urlParams.cursor
        }
        return ok(yield* answering(jobs.errorsPage(workspace, path.object, path.jobId, page)))
      })
    )
)
