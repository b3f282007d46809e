/**
 * The path parameters of the routes: the object name, a job id and a record id.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** `{object}`: the name of an object (`^[a-z][a-z0-9_]{0,62}$`); an unknown name answers 404 `NOT_FOUND.OBJECT`. */
export const ObjectParam = HttpApiSchema.param(
  "object",
  Schema.String.annotations({ description: "The object name, ^[a-z][a-z0-9_]{0,62}$" })
)

/** `{name}` of the object routes: the name of an object. */
export const ObjectNameParam = HttpApiSchema.param(
  "name",
  Schema.String.annotations({ description: "The object name, ^[a-z][a-z0-9_]{0,62}$" })
)

/** `{jobId}`: a job id (`rjob_` and a ULID); an unknown or foreign id answers 404 `NOT_FOUND.JOB`. */
export const JobIdParam = HttpApiSchema.param(
  "jobId",
  Schema.String.annotations({ description: "The job id: rjob_ followed by a ULID" })
)

/** `{id}`: the `_id` of a stored row. */
export const RecordIdParam = HttpApiSchema.param(
  "id",
  Schema.String.annotations({ description: "The _id of a stored row" })
)
