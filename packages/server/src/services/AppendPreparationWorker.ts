/**
 * The code of a preparation thread (see `AppendPreparation.ts`): run as a `worker_threads` worker, it answers each
 * request (an append's body text and its object's schema) with the batch checked and serialized
 * (`BatchRecords.SerializedBatch`), or `null` when the batch fails the acceptance's checks (the HTTP thread then
 * checks it itself, to answer the error) or the preparation fails.
 *
 * Built as its own entry: `dist/services/AppendPreparationWorker.js` of this package, and
 * `dist/AppendPreparationWorker.js` next to the bundled CLI.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import type { ObjectSchema } from "@batchwrite/core"
import { Either } from "effect"
import { type SerializedBatch, serializeAppend } from "../jobs/BatchRecords.js"
import { checkBatch } from "./BatchIntake.js"

/** A request to a preparation thread. */
export interface PrepareRequest {
  readonly id: number
  readonly body: string
  readonly definition: ObjectSchema.ObjectDefinition
}

/** A preparation thread's answer. */
export interface PrepareReply {
  readonly id: number
  readonly batch: SerializedBatch | null
}

/** What the parent gives the thread. */
export interface PreparationThreadData {
  readonly batchwritePreparationThread: true
}

/**
 * An append's body checked as the acceptance checks it (`checkBatch`), its records checked against the object and
 * serialized; `undefined` when the batch fails the acceptance's checks.
 */
export const prepareAppend = (body: string, definition: ObjectSchema.ObjectDefinition): SerializedBatch | undefined => {
  const checked = checkBatch(body, "append-batch", definition)
  return Either.isRight(checked) ? serializeAppend(definition, checked.right.records) : undefined
}

const answer = (request: PrepareRequest): PrepareReply => {
  try {
    return { id: request.id, batch: prepareAppend(request.body, request.definition) ?? null }
  } catch {
    return { id: request.id, batch: null }
  }
}

const data = workerData as Partial<PreparationThreadData> | null
if (!isMainThread && parentPort !== null && data?.batchwritePreparationThread === true) {
  const port = parentPort
  port.on("message", (request: PrepareRequest) => port.postMessage(answer(request)))
}
