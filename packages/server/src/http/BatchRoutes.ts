/**
 * The batch endpoints (SPEC §1.3–§1.5): `POST /records/{object}/append-batch` and `…/upsert-batch`. Checks the
 * request, then stores the batch, its job and its idempotency record in one transaction and answers 202 (or 200
 * with the finished job under `Prefer: wait=N`).
 */
import { randomBytes } from "node:crypto"
import { Job } from "@batchwrite/core"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Duration, Effect, Exit, Option } from "effect"
import { AcceptedRecords } from "../AcceptedRecords.js"
import { CurrentPrincipal } from "../Auth.js"
import { type BatchOperation, checkBatch } from "../BatchIntake.js"
import type { IdempotencyScope } from "../IdempotencyRepo.js"
import { JobsRepo } from "../JobsRepo.js"
import { JobWorkers } from "../JobWorkers.js"
import { ServiceMetrics } from "../ServiceMetrics.js"
import { type Handled, parseIdempotencyKey, withIdempotency } from "./IdempotentRequest.js"
import { preferredWait } from "./Prefer.js"
import { readJsonBody } from "./RequestBody.js"
import { noteRecords } from "./RequestRecords.js"
import { success } from "./Responses.js"
import { authorized } from "./Route.js"
import { workspaceObject } from "./WorkspaceObject.js"

/** The public path of a job, for `Location`. */
export const jobLocation = (objectName: string, jobId: string) => `/public/v1${Job.jobStatusPath(objectName, jobId)}`

/** A new job id: `rjob_` and a ULID. */
export const newJobId = (): string => Job.formatJobId(Date.now(), randomBytes(10))

interface BatchRequest {
  readonly operation: BatchOperation
  readonly objectName: string
  readonly body: string
  readonly wait: Option.Option<number>
  readonly idempotency: Option.Option<IdempotencyScope>
}

const acceptBatch = ({ body, idempotency, objectName, operation, wait }: BatchRequest) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const definition = yield* workspaceObject(objectName)
    const checked = yield* checkBatch(body, operation, definition)
    yield* noteRecords(checked.recordCount)
    const jobId = newJobId()
    const accepted: Job.AcceptedBatch = {
      operation,
      objectName,
      jobId,
      state: "queued",
      acceptedRecords: checked.recordCount,
      statusPath: Job.jobStatusPath(objectName, jobId)
    }
    const response = success(202, accepted, { location: jobLocation(objectName, jobId) })
    const acceptedRecords = yield* AcceptedRecords
    yield* acceptedRecords.keep(jobId, checked.records, body.length)
    const ordered = operation === "upsert-batch" || definition.matchKeys.length > 0
    const accept = (yield* JobsRepo).accept({
      jobId,
      workspace: principal.workspace,
      objectName,
      operation,
      matchKey: checked.matchKey,
      body,
      acceptedRecords: checked.recordCount,
      ordered,
      createdAt: new Date(),
      idempotency: Option.map(idempotency, (scope) => ({ scope, response }))
    })
    yield* Effect.onExit(accept, (exit) => (Exit.isSuccess(exit) ? Effect.void : acceptedRecords.forget(jobId)))
    const workers = yield* JobWorkers
    yield* workers.notifyAccepted({ jobId, ordered })
    yield* (yield* ServiceMetrics).recordAccepted(checked.recordCount)
    const waited = yield* Option.match(wait, {
      onNone: () => Effect.succeed(Option.none<Job.Job>()),
      onSome: (seconds) => finishedJob(principal.workspace, objectName, jobId, seconds, true)
    })
    return Option.match(waited, {
      onNone: (): Handled => ({ response, stored: true }),
      onSome: (job): Handled => ({
        response: success(200, job, { "preference-applied": `wait=${Option.getOrThrow(wait)}` }),
        stored: true
      })
    })
  })

/**
 * The job once terminal, if it gets there within `seconds`: with the first 100 row errors (a job GET, §1.6), or
 * with every row error (`allErrors`, the synchronous POST of §1.5).
 */
export const finishedJob = (workspace: string, objectName: string, jobId: string, seconds: number, allErrors = false) =>
  Effect.gen(function* () {
    const workers = yield* JobWorkers
    const jobs = yield* JobsRepo
    const terminal = yield* workers.awaitTerminal(jobId, Duration.seconds(seconds))
    if (!terminal) return Option.none<Job.Job>()
    return yield* jobs.get(workspace, objectName, jobId, allErrors ? { errorsLimit: Number.POSITIVE_INFINITY } : {})
  })

const batchRoute = (operation: BatchOperation) =>
  authorized("records:write")(
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const { object } = yield* HttpRouter.params
      const objectName = object ?? ""
      const principal = yield* CurrentPrincipal
      const key = yield* parseIdempotencyKey(request.headers["idempotency-key"])
      const body = yield* readJsonBody(request)
      const wait = preferredWait(request.headers.prefer)
      const path = new URL(request.url, "http://localhost").pathname
      const scope = Option.map(
        key,
        (key): IdempotencyScope => ({ workspace: principal.workspace, method: "POST", path, key })
      )
      return yield* withIdempotency(scope, body, acceptBatch({ operation, objectName, body, wait, idempotency: scope }))
    })
  )

/** The batch routes. */
export const batchRoutes = HttpRouter.empty.pipe(
  HttpRouter.post("/public/v1/records/:object/append-batch", batchRoute("append-batch")),
  HttpRouter.post("/public/v1/records/:object/upsert-batch", batchRoute("upsert-batch"))
)
