/**
 * The errors of the service layer: what went wrong, in the domain's words. None of them knows an HTTP status or
 * header; `http/ErrorMapping.ts` maps each to the api's error class, in one place.
 */
import type { ObjectSchema, RecordValidation, RowError } from "@batchwrite/core"
import { Data, Effect } from "effect"
import type { InvalidCursor } from "../storage/Cursor.js"

/** The request's input is malformed (not JSON, the wrong shape, a bad match key or parameter). */
export class MalformedInput extends Data.TaggedError("MalformedInput")<{
  readonly message: string
  readonly details?: unknown
}> {}

/**
 * A page read whose cursor the service did not hand out is malformed input: the one message for every paged read.
 */
export const malformedCursor = <A, E, R>(
  effect: Effect.Effect<A, E | InvalidCursor, R>
): Effect.Effect<A, Exclude<E, InvalidCursor> | MalformedInput, R> =>
  Effect.catchIf(
    effect,
    (error): error is InvalidCursor => (error as { _tag?: unknown })._tag === "InvalidCursor",
    () =>
      Effect.fail(
        new MalformedInput({
          message: "cursor is not valid: pass the nextCursor of the previous page unchanged, or none for the first page"
        })
      )
  ) as Effect.Effect<A, Exclude<E, InvalidCursor> | MalformedInput, R>

/** A batch of more records than a batch may hold. */
export class TooManyRecords extends Data.TaggedError("TooManyRecords")<{
  readonly count: number
  readonly limit: number
}> {
  override get message(): string {
    return `too many records: ${this.count} in one request, the limit is ${this.limit}; split the batch`
  }
}

/** Records carry fields the object does not have. */
export class UnknownFields extends Data.TaggedError("UnknownFields")<{
  readonly objectName: string
  readonly unknownFields: ReadonlyArray<RecordValidation.UnknownField>
}> {
  override get message(): string {
    const fields = this.unknownFields
    const one = fields.length === 1
    return `${one ? "a field is" : "fields are"} not on object '${this.objectName}': ${fields
      .slice(0, 10)
      .map((u) => `${u.field} (first at record ${u.firstIndex})`)
      .join(", ")}; remove ${one ? "it" : "them"} or add ${one ? "it" : "them"} to the object`
  }
}

/** The one record of a single write is invalid: every problem of the row. */
export class InvalidRecord extends Data.TaggedError("InvalidRecord")<{
  readonly errors: ReadonlyArray<RowError.RowError>
}> {
  override get message(): string {
    return `the record is invalid: ${this.errors.map((error) => error.message).join("; ")}`
  }
}

/** No object of that name in the caller's workspace (another workspace's object looks the same). */
export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{ readonly objectName: string }> {
  override get message(): string {
    return `object '${this.objectName}' does not exist in this workspace`
  }
}

/** No job of that id under that object in the caller's workspace. */
export class JobNotFound extends Data.TaggedError("JobNotFound")<{ readonly jobId: string }> {
  override get message(): string {
    return `job '${this.jobId}' does not exist for this object in this workspace`
  }
}

/** No stored record of that id in the object. */
export class RecordNotFound extends Data.TaggedError("RecordNotFound")<{
  readonly objectName: string
  readonly id: string
}> {
  override get message(): string {
    return `record '${this.id}' does not exist in '${this.objectName}'`
  }
}

/** The job of a single write failed: the write was not applied. */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{ readonly reason: string }> {
  override get message(): string {
    return `the write could not be applied: ${this.reason}`
  }
}

/** A schema change that would change the type of existing fields. */
export class ObjectConflict extends Data.TaggedError("ObjectConflict")<{
  readonly objectName: string
  readonly conflicts: ReadonlyArray<ObjectSchema.FieldTypeConflict>
}> {
  override get message(): string {
    return `changing a field's type is not allowed: ${this.conflicts
      .map((c) => `${c.field} (${c.previousType} → ${c.nextType})`)
      .join(", ")}; add a new field instead`
  }
}
