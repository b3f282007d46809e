/**
 * Reading jobs (SPEC §1.6): a job with its first row errors, waiting for it to finish (`Prefer: wait=N`), and the
 * pages of all its row errors with their rejected records.
 */
import type { Job } from "@batchwrite/core"
import { Duration, Effect, Option } from "effect"
import { JobWorkers } from "../jobs/JobWorkers.js"
import { JobsRepo } from "../storage/JobsRepo.js"
import { JobNotFound, type MalformedInput, malformedCursor } from "./Errors.js"

/** How many row errors a job read carries: the first 100 (a job GET), or all (a batch POST answered in the end). */
export type ErrorsShown = "first" | "all"

/** The jobs of the workspaces. */
export class Jobs extends Effect.Service<Jobs>()("server/Jobs", {
  effect: Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const workers = yield* JobWorkers

    const read = (workspace: string, objectName: string, jobId: string, errors: ErrorsShown) =>
      Effect.flatMap(
        jobs.get(workspace, objectName, jobId, errors === "all" ? { errorsLimit: Number.POSITIVE_INFINITY } : {}),
        Option.match({ onNone: () => Effect.fail(new JobNotFound({ jobId })), onSome: Effect.succeed })
      )

    return {
      /** The job, with its first row errors. */
      get: (workspace: string, objectName: string, jobId: string): Effect.Effect<Job.Job, JobNotFound> =>
        read(workspace, objectName, jobId, "first"),

      /** The job once terminal, if it gets there within `seconds`; `None` when it does not (at once for 0 seconds). */
      awaitFinished: (
        workspace: string,
        objectName: string,
        jobId: string,
        seconds: number,
        errors: ErrorsShown
      ): Effect.Effect<Option.Option<Job.Job>, JobNotFound> =>
        seconds <= 0
          ? Effect.succeedNone
          : Effect.flatMap(workers.awaitTerminal(jobId, Duration.seconds(seconds)), (terminal) =>
              terminal ? Effect.asSome(read(workspace, objectName, jobId, errors)) : Effect.succeedNone
            ),

      /** A page of the job's row errors, each with its rejected record. */
      errorsPage: (
        workspace: string,
        objectName: string,
        jobId: string,
        page: { readonly limit: number; readonly cursor: string | undefined }
      ): Effect.Effect<Job.JobErrorsPage, JobNotFound | MalformedInput> =>
        jobs
          .errorsPage(workspace, objectName, jobId, page)
          .pipe(
            malformedCursor,
            Effect.flatMap(
              Option.match({ onNone: () => Effect.fail(new JobNotFound({ jobId })), onSome: Effect.succeed })
            )
          )
    } as const
  }),
  dependencies: [JobsRepo.Default]
}) {}
