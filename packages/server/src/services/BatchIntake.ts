/**
 * The checks a batch passes before it is queued (SPEC §1.5): a JSON body with a `records` array of 1 to 10,000
 * records, no field the object does not have, and for an upsert a `matchKey` that is one of the object's match
 * keys. Each failure rejects the whole request; nothing is queued. A record that is not a JSON object is not one of
 * them: it is a row error of its own when the job runs, and the other records are applied.
 */
import { Job, Limits, type ObjectSchema, RecordValidation } from "@batchwrite/core"
import { Either } from "effect"
import { MalformedInput, TooManyRecords, UnknownFields } from "./Errors.js"

/** A batch that passed the checks, and how its job is to be applied. */
export interface CheckedBatch {
  /** The records as parsed from the body. */
  readonly records: ReadonlyArray<unknown>
  readonly plan: Job.BatchPlan
}

/** What a batch can fail its checks with. */
export type BatchRejected = MalformedInput | TooManyRecords | UnknownFields

/** The match key an upsert names, when it is one of the object's match keys (batches and single writes alike). */
export const checkMatchKey = (
  matchKey: unknown,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<string, MalformedInput> => {
  if (typeof matchKey !== "string") {
    return Either.left(
      new MalformedInput({
        message: `an upsert needs "matchKey": one of ${JSON.stringify(definition.matchKeys)} of object '${definition.name}'`,
        details: { matchKeys: definition.matchKeys }
      })
    )
  }
  if (!definition.matchKeys.includes(matchKey)) {
    return Either.left(
      new MalformedInput({
        message: `"${matchKey}" is not a match key of object '${definition.name}'; use one of ${JSON.stringify(definition.matchKeys)}`,
        details: { matchKey, matchKeys: definition.matchKeys }
      })
    )
  }
  return Either.right(matchKey)
}

/** Checks the decoded body text of a batch request against the object. */
export const checkBatch = (
  text: string,
  operation: Job.Operation,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<CheckedBatch, BatchRejected> =>
  Either.gen(function* () {
    const body = yield* Either.mapLeft(Job.parseBatchBody(text), (message) => new MalformedInput({ message }))
    const { records } = body
    if (records.length === 0) {
      return yield* Either.left(
        new MalformedInput({ message: `"records" is empty: send 1 to ${Limits.maxRecordsPerBatch} records` })
      )
    }
    if (records.length > Limits.maxRecordsPerBatch) {
      return yield* Either.left(new TooManyRecords({ count: records.length, limit: Limits.maxRecordsPerBatch }))
    }
    const mergeKey = operation === "upsert-batch" ? yield* checkMatchKey(body.matchKey, definition) : null
    const unknownFields = RecordValidation.findUnknownFields(definition, records)
    if (unknownFields.length > 0) {
      return yield* Either.left(new UnknownFields({ objectName: definition.name, unknownFields }))
    }
    return { records, plan: Job.planBatch(operation, definition.matchKeys, mergeKey) }
  })
