/**
 * The checks a batch passes before it is queued (SPEC §1.5): a JSON body with a `records` array of 1 to 10,000
 * objects, no field the object does not have, and for an upsert a `matchKey` that is one of the object's match
 * keys. Each failure rejects the whole request; nothing is queued.
 */
import { ErrorCode, Limits, type ObjectSchema, RecordValidation } from "@batchwrite/core"
import { Either } from "effect"
import { ApiFailure, requestInvalid } from "./http/ApiFailure.js"

/** A batch that passed the checks. */
export interface CheckedBatch {
  /** The records as parsed from the body: every one a JSON object. */
  readonly records: ReadonlyArray<unknown>
  readonly recordCount: number
  readonly matchKey: string | null
}

/** An operation of the batch endpoints. */
export type BatchOperation = "append-batch" | "upsert-batch"

const describe = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "an array"
      : typeof value === "object"
        ? "an object"
        : `a ${typeof value}`

const parseJson = (text: string): Either.Either<unknown, ApiFailure> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(requestInvalid(`the body is not valid JSON: ${(error as Error).message}`))
  }
}

const checkMatchKey = (
  body: Record<string, unknown>,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<string, ApiFailure> => {
  const matchKey = body.matchKey
  if (typeof matchKey !== "string") {
    return Either.left(
      requestInvalid(
        `an upsert needs "matchKey": one of ${JSON.stringify(definition.matchKeys)} of object '${definition.name}'`,
        { matchKeys: definition.matchKeys }
      )
    )
  }
  if (!definition.matchKeys.includes(matchKey)) {
    return Either.left(
      requestInvalid(
        `"${matchKey}" is not a match key of object '${definition.name}'; use one of ${JSON.stringify(definition.matchKeys)}`,
        { matchKey, matchKeys: definition.matchKeys }
      )
    )
  }
  return Either.right(matchKey)
}

/** Checks the decoded body text of a batch request against the object. */
export const checkBatch = (
  text: string,
  operation: BatchOperation,
  definition: ObjectSchema.ObjectDefinition
): Either.Either<CheckedBatch, ApiFailure> =>
  Either.gen(function* () {
    const body = yield* parseJson(text)
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return yield* Either.left(
        requestInvalid(`the body must be a JSON object with a "records" array, got ${describe(body)}`)
      )
    }
    const records = (body as Record<string, unknown>).records
    if (!Array.isArray(records)) {
      return yield* Either.left(requestInvalid(`the body needs a "records" array, got ${describe(records)}`))
    }
    if (records.length === 0)
      return yield* Either.left(requestInvalid(`"records" is empty: send 1 to ${Limits.maxRecordsPerBatch} records`))
    if (records.length > Limits.maxRecordsPerBatch) {
      return yield* Either.left(
        requestInvalid(
          `too many records: ${records.length} in one request, the limit is ${Limits.maxRecordsPerBatch}; split the batch`,
          { limit: Limits.maxRecordsPerBatch, count: records.length }
        )
      )
    }
    const notObject = records.findIndex(
      (record) => typeof record !== "object" || record === null || Array.isArray(record)
    )
    if (notObject >= 0) {
      return yield* Either.left(
        requestInvalid(`record ${notObject} is ${describe(records[notObject])}; every record must be a JSON object`, {
          index: notObject,
          pointer: `/records/${notObject}`
        })
      )
    }
    const matchKey =
      operation === "upsert-batch" ? yield* checkMatchKey(body as Record<string, unknown>, definition) : null
    const unknown = RecordValidation.findUnknownFields(definition, records)
    if (unknown.length > 0) {
      return yield* Either.left(
        new ApiFailure({
          status: 400,
          code: ErrorCode.RequestSchema,
          message: `${unknown.length === 1 ? "a field is" : "fields are"} not on object '${definition.name}': ${unknown
            .slice(0, 10)
            .map((u) => `${u.field} (first at record ${u.firstIndex})`)
            .join(
              ", "
            )}; remove ${unknown.length === 1 ? "it" : "them"} or add ${unknown.length === 1 ? "it" : "them"} to the object`,
          details: { unknownFields: unknown }
        })
      )
    }
    return { records, recordCount: records.length, matchKey }
  })
