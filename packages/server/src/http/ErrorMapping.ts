/**
 * The one mapping from the service layer's errors (and the platform's request-decoding errors) to the api's error
 * classes, which carry their status on the wire. Nothing below the HTTP layer knows a status code.
 */
import {
  type ApiError,
  JobNotFound,
  InternalError,
  ObjectConflict,
  ObjectNotFound,
  RecordNotFound,
  RequestInvalid,
  SchemaMismatch,
  ServiceUnavailable
} from "@batchwrite/api"
import type { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Effect } from "effect"
import type { Refusal } from "../services/Admission.js"
import type * as Errors from "../services/Errors.js"
import { failure, type TextResponse } from "./Responses.js"

/** An error of the service layer. */
export type DomainError =
  | Errors.MalformedInput
  | Errors.TooManyRecords
  | Errors.UnknownFields
  | Errors.InvalidRecord
  | Errors.ObjectNotFound
  | Errors.JobNotFound
  | Errors.RecordNotFound
  | Errors.WriteFailed
  | Errors.ObjectConflict

/** The api error a domain error is answered with. */
export const toApiError = (error: DomainError): ApiError => {
  switch (error._tag) {
    case "MalformedInput":
      return new RequestInvalid({ message: error.message, details: error.details })
    case "TooManyRecords":
      return new RequestInvalid({ message: error.message, details: { limit: error.limit, count: error.count } })
    case "UnknownFields":
      return new SchemaMismatch({ message: error.message, unknownFields: error.unknownFields })
    case "InvalidRecord":
      return new RequestInvalid({ message: error.message, details: { errors: error.errors } })
    case "ObjectNotFound":
      return new ObjectNotFound({ message: error.message })
    case "JobNotFound":
      return new JobNotFound({ message: error.message })
    case "RecordNotFound":
      return new RecordNotFound({ message: error.message })
    case "WriteFailed":
      return new InternalError({ message: error.message })
    case "ObjectConflict":
      return new ObjectConflict({ message: error.message, conflicts: error.conflicts })
  }
}

/** The api error class of a domain error, by type. */
export type ApiErrorOf<E extends DomainError> = E extends
  | Errors.MalformedInput
  | Errors.TooManyRecords
  | Errors.InvalidRecord
  ? RequestInvalid
  : E extends Errors.UnknownFields
    ? SchemaMismatch
    : E extends Errors.ObjectNotFound
      ? ObjectNotFound
      : E extends Errors.JobNotFound
        ? JobNotFound
        : E extends Errors.RecordNotFound
          ? RecordNotFound
          : E extends Errors.WriteFailed
            ? InternalError
            : E extends Errors.ObjectConflict
              ? ObjectConflict
              : never

/** Runs a service call, answering its domain errors as the api errors {@link toApiError} maps them to. */
export const answering = <A, E extends DomainError, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, ApiErrorOf<E>, R> => Effect.mapError(effect, (error) => toApiError(error) as ApiErrorOf<E>)

/**
 * A request whose path, query or headers do not decode against the contract's schemas: `400 REQUEST_INVALID`
 * naming what is wrong.
 */
export const fromDecodeError = (error: HttpApiDecodeError): ApiError => {
  const issues = error.issues.map((issue) => {
    const where = issue.path.length === 0 ? "request" : issue.path.map(String).join(".")
    return `${where}: ${issue.message}`
  })
  return new RequestInvalid({ message: `invalid request: ${issues.join("; ")}`, details: { issues: error.issues } })
}

const refusalMessages: Record<Refusal["bound"], (refusal: Refusal) => string> = {
  "in-flight-body-bytes": (refusal) =>
    `the service is receiving ${refusal.current} bytes of request bodies, its bound is ${refusal.limit}; nothing was ` +
    `read or stored: send the request again after ${refusal.retryAfterSeconds} s`,
  "backlog-records": (refusal) =>
    `this workspace has ${refusal.current} records accepted and not yet committed, its bound is ${refusal.limit}; ` +
    `nothing was read or stored: send the request again after ${refusal.retryAfterSeconds} s`
}

/**
 * A write refused by admission control: `503 SERVER.UNAVAILABLE` with `Retry-After`; `details` give the bound, its
 * limit, the current value and `retryAfter`.
 */
export const refusedResponse = (refusal: Refusal): TextResponse =>
  failure(
    new ServiceUnavailable({
      message: refusalMessages[refusal.bound](refusal),
      details: {
        bound: refusal.bound,
        limit: refusal.limit,
        current: refusal.current,
        retryAfter: refusal.retryAfterSeconds
      }
    }),
    { "retry-after": String(refusal.retryAfterSeconds) }
  )
