/**
 * A batch's records as a job applies them: parsed and checked against the object's schema (`checkRecords`), or
 * prepared off the HTTP thread for an append to an object without match keys (`SerializedBatch`: the valid records
 * already as the JSON text their rows store). Pure: the acceptance's preparation threads run it too
 * (`services/AppendPreparation.ts`).
 */
import { ErrorCode, type ObjectSchema, RecordValidation, type RowError } from "@batchwrite/core"
import type { RowInput } from "../storage/RecordsRepo.js"

/** A batch's records checked against an object's schema. */
export interface CheckedRecords {
  /** The records to write, with their index in the batch. */
  readonly valid: ReadonlyArray<RowInput>
  /** The row errors, by index. */
  readonly rowErrors: Map<number, Array<RowError.RowError>>
}

/**
 * Checks a batch's records against the object's schema as it is now. `upsertKey`: the match key of an upsert
 * (undefined for an append); when the schema no longer has it as a match key, every record is rejected (as a
 * removed field is).
 */
export const checkRecords = (
  definition: ObjectSchema.ObjectDefinition,
  upsertKey: string | undefined,
  records: ReadonlyArray<unknown>
): CheckedRecords => {
  const keyGone =
    upsertKey !== undefined && !definition.matchKeys.includes(upsertKey) && Object.hasOwn(definition.fields, upsertKey)
      ? upsertKey
      : undefined
  const check = RecordValidation.compileValidator(definition, { matchKey: upsertKey })
  const valid: Array<RowInput> = []
  const rowErrors = new Map<number, Array<RowError.RowError>>()
  for (let index = 0; index < records.length; index++) {
    const result = check(records[index], index)
    const errors: Array<RowError.RowError> = result._tag === "Invalid" ? [...result.errors] : []
    if (keyGone !== undefined) {
      errors.push({
        index,
        code: ErrorCode.RequestSchema,
        field: keyGone,
        pointer: "/matchKey",
        message: `"${keyGone}" is no longer a match key of object "${definition.name}"`
      })
    }
    if (errors.length > 0) rowErrors.set(index, errors)
    else if (result._tag === "Valid") valid.push({ index, record: result.record })
  }
  return { valid, rowErrors }
}

/**
 * The rejected record as JSON text for the errors endpoint. A value nested too deep for `JSON.stringify` (it is
 * recursive; `JSON.parse` is not) is stored as `null`: its row error still says why it was rejected.
 */
export const rejectedRecordText = (record: unknown): string => {
  try {
    return JSON.stringify(record) ?? "null"
  } catch {
    return "null"
  }
}

/**
 * An append's records checked against an object without match keys and serialized: what applying it needs, without
 * the parsed records (a few times the body's size). Structured-clonable: it crosses from a preparation thread.
 */
export interface SerializedBatch {
  readonly _tag: "Serialized"
  /** How many records the batch has. */
  readonly total: number
  /** The valid records, in batch order, as the JSON text their rows store. */
  readonly texts: ReadonlyArray<string>
  /** The rejected records: index, row errors and the record as JSON text. */
  readonly rejected: ReadonlyArray<readonly [index: number, errors: ReadonlyArray<RowError.RowError>, record: string]>
  /** The schema the records were checked against, as JSON text: applied under another, they are checked again. */
  readonly definition: string
}

/** The JSON text a definition is compared by (see {@link SerializedBatch}). */
export const definitionText = (definition: ObjectSchema.ObjectDefinition): string => JSON.stringify(definition)

/** Checks parsed append records against an object without match keys and serializes them. */
export const serializeAppend = (
  definition: ObjectSchema.ObjectDefinition,
  records: ReadonlyArray<unknown>
): SerializedBatch => {
  const { rowErrors, valid } = checkRecords(definition, undefined, records)
  return {
    _tag: "Serialized",
    total: records.length,
    texts: valid.map((row) => JSON.stringify(row.record)),
    rejected: Array.from(rowErrors, ([index, errors]) => [index, errors, rejectedRecordText(records[index])] as const),
    definition: definitionText(definition)
  }
}

/** A batch's records as this node kept them for its job: parsed, or serialized (see {@link SerializedBatch}). */
export type KeptBatch = { readonly _tag: "Parsed"; readonly records: ReadonlyArray<unknown> } | SerializedBatch

/** Parsed records as a {@link KeptBatch}. */
export const parsed = (records: ReadonlyArray<unknown>): KeptBatch => ({ _tag: "Parsed", records })
