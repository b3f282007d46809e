/**
 * Real-time writes (SPEC §1.9): `POST /records/{object}` with one record (append), or with
 * `{"record": {…}, "matchKey": "…"}` and `?mode=upsert`. Synchronous: `201` (inserted) or `200` (updated, stale)
 * with the row as stored, or `400` with the row's errors.
 *
 * A write that can touch another row (an upsert, or an append carrying a match-key value) takes its place in the
 * acceptance order as a one-record job and waits for it, so it never overtakes an earlier batch (§1.4). An append
 * without match-key values touches nothing else and is inserted at once.
 */
import { ErrorCode, Job, Limits, type ObjectSchema, RecordValidation, type RowError } from "@batchwrite/core"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Either, Option } from "effect"
import { CurrentPrincipal } from "../Auth.js"
import type { IdempotencyScope } from "../IdempotencyRepo.js"
import { JobsRepo } from "../JobsRepo.js"
import { JobWorkers } from "../JobWorkers.js"
import { RecordsRepo } from "../RecordsRepo.js"
import { ServiceMetrics } from "../ServiceMetrics.js"
import { ApiFailure, requestInvalid } from "./ApiFailure.js"
import { newJobId } from "./BatchRoutes.js"
import { type Handled, parseIdempotencyKey, withIdempotency } from "./IdempotentRequest.js"
import { readJsonBody } from "./RequestBody.js"
import { noteRecords } from "./RequestRecords.js"
import { success } from "./Responses.js"
import { authorized } from "./Route.js"
import { workspaceObject } from "./WorkspaceObject.js"

type WriteMode = "append" | "upsert"

interface WriteRequest {
  readonly record: RecordValidation.RecordFields
  readonly matchKey: string | undefined
  /** Where the record sits in the body, for row-error pointers: `""` (append) or `/record` (upsert). */
  readonly basePointer: string
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseWrite = (
  text: string,
  mode: WriteMode,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<WriteRequest, ApiFailure> => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    return Either.left(requestInvalid(`the body is not valid JSON: ${(error as Error).message}`))
  }
  if (mode === "append") {
    return isObject(body)
      ? Either.right({ record: body, matchKey: undefined, basePointer: "" })
      : Either.left(requestInvalid("the body must be the record: a JSON object"))
  }
  if (!isObject(body) || !isObject(body.record)) {
    return Either.left(requestInvalid('an upsert body is {"record": {…}, "matchKey": "…"}'))
  }
  const matchKey = body.matchKey
  if (typeof matchKey !== "string" || !definition.matchKeys.includes(matchKey)) {
    return Either.left(
      requestInvalid(
        `"matchKey" must be one of ${JSON.stringify(definition.matchKeys)} of object '${definition.name}'`,
        {
          matchKeys: definition.matchKeys
        }
      )
    )
  }
  return Either.right({ record: body.record, matchKey, basePointer: "/record" })
}

const invalidRecord = (errors: ReadonlyArray<RowError.RowError>) =>
  requestInvalid(`the record is invalid: ${errors.map((error) => error.message).join("; ")}`, { errors })

const hasValue = (value: unknown) => value !== undefined && value !== null

/** The match key whose value finds the written row again. */
const lookupKey = (definition: ObjectSchema.ObjectDefinition, write: WriteRequest, record: Record<string, unknown>) =>
  write.matchKey ?? definition.matchKeys.find((field) => hasValue(record[field]))

const writeThroughQueue = (
  workspace: string,
  definition: ObjectSchema.ObjectDefinition,
  write: WriteRequest,
  normalized: RecordValidation.RecordFields
) =>
  Effect.gen(function* () {
    const jobs = yield* JobsRepo
    const workers = yield* JobWorkers
    const objectName = definition.name
    const jobId = newJobId()
    const operation = write.matchKey === undefined ? "append-batch" : "upsert-batch"
    const body = JSON.stringify(
      write.matchKey === undefined ? { records: [write.record] } : { records: [write.record], matchKey: write.matchKey }
    )
    yield* jobs.accept({
      jobId,
      workspace,
      objectName,
      operation,
      matchKey: write.matchKey ?? null,
      body,
      acceptedRecords: 1,
      ordered: true,
      createdAt: new Date(),
      idempotency: Option.none()
    })
    yield* workers.notifyAccepted({ jobId, ordered: true })
    const finished = yield* workers.awaitTerminal(jobId, Duration.seconds(Limits.maxWaitSeconds))
    const job = finished
      ? Option.getOrUndefined(yield* jobs.get(workspace, objectName, jobId, { errorsLimit: Number.POSITIVE_INFINITY }))
      : undefined
    if (job === undefined || !Job.isTerminal(job.state)) {
      return yield* new ApiFailure({
        status: 408,
        code: ErrorCode.RequestTimeout,
        message: `the write was queued as job ${jobId} and will be applied, but did not finish within ${Limits.maxWaitSeconds} s; follow details.statusPath`,
        details: { jobId, statusPath: Job.jobStatusPath(objectName, jobId) }
      })
    }
    if (job.state === "failed") {
      return yield* new ApiFailure({
        status: 500,
        code: ErrorCode.InternalError,
        message: `the write could not be applied: ${job.failure?.message ?? "job failed"}`
      })
    }
    if (job.metrics.invalidRows > 0) {
      return yield* invalidRecord(
        job.errors.map((error) => ({ ...error, pointer: error.pointer.replace(/^\/records\/0/, write.basePointer) }))
      )
    }
    const key = lookupKey(definition, write, normalized)!
    const page = yield* (yield* RecordsRepo)
      .list(workspace, objectName, {
        limit: 1,
        cursor: undefined,
        filter: Option.some({ field: key, value: normalized[key] })
      })
      .pipe(Effect.orDie)
    const stored = page.records[0]
    if (stored === undefined) return yield* Effect.dieMessage(`written record of job ${jobId} not found by ${key}`)
    const outcome = job.metrics.insertedRows > 0 ? "inserted" : job.metrics.updatedRows > 0 ? "updated" : "stale"
    return { outcome, record: stored } as const
  })

const writeRecord = (objectName: string, mode: WriteMode, text: string) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const definition = yield* workspaceObject(objectName)
    const write = yield* parseWrite(text, mode, definition)
    const validation = RecordValidation.validateRecord(definition, write.record, 0, {
      matchKey: write.matchKey,
      basePointer: write.basePointer
    })
    if (validation._tag === "Invalid") return yield* invalidRecord(validation.errors)
    yield* noteRecords(1)
    const metrics = yield* ServiceMetrics
    yield* metrics.recordAccepted(1)
    const written =
      lookupKey(definition, write, validation.record) === undefined
        ? {
            outcome: "inserted" as const,
            record: yield* (yield* SqlClient.SqlClient)
              .withTransaction(
                (yield* RecordsRepo).insertOne(principal.workspace, objectName, validation.record, new Date())
              )
              .pipe(Effect.orDie)
          }
        : yield* writeThroughQueue(principal.workspace, definition, write, validation.record)
    const location = { location: `/public/v1/records/${objectName}/${written.record._id}` }
    return {
      response: written.outcome === "inserted" ? success(201, written, location) : success(200, written),
      stored: false
    } satisfies Handled
  })

const writeRoute = authorized("records:write")(
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { object } = yield* HttpRouter.params
    const principal = yield* CurrentPrincipal
    const url = new URL(request.url, "http://localhost")
    const mode = url.searchParams.get("mode") ?? "append"
    if (mode !== "append" && mode !== "upsert") {
      return yield* Effect.fail(requestInvalid(`mode must be append or upsert, got '${mode}'`))
    }
    const key = yield* parseIdempotencyKey(request.headers["idempotency-key"])
    const body = yield* readJsonBody(request)
    const scope = Option.map(
      key,
      (key): IdempotencyScope => ({ workspace: principal.workspace, method: "POST", path: url.pathname, key })
    )
    return yield* withIdempotency(scope, body, writeRecord(object ?? "", mode, body))
  })
)

/** The real-time write route. */
export const recordWriteRoutes = HttpRouter.empty.pipe(HttpRouter.post("/public/v1/records/:object", writeRoute))
