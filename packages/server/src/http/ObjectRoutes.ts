/**
 * The objects API (SPEC §1.1): list, read, and create or replace an object's schema (admin scope). Changing an
 * existing field's type is a 409; stored rows are kept as they are.
 */
import { ErrorCode, ObjectSchema } from "@batchwrite/core"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import { CurrentPrincipal } from "../Auth.js"
import { ObjectsRepo } from "../ObjectsRepo.js"
import { ApiFailure, objectNotFound, requestInvalid } from "./ApiFailure.js"
import { readJsonBody } from "./RequestBody.js"
import { success } from "./Responses.js"
import { authorized } from "./Route.js"

const listObjects = authorized("any")(
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const objects = yield* (yield* ObjectsRepo).list(principal.workspace)
    return success(200, { objects })
  })
)

const getObject = authorized("any")(
  Effect.gen(function* () {
    const { name } = yield* HttpRouter.params
    const principal = yield* CurrentPrincipal
    const definition = yield* (yield* ObjectsRepo).get(principal.workspace, name ?? "")
    return yield* Option.match(definition, {
      onNone: () => Effect.fail(objectNotFound(name ?? "")),
      onSome: (definition) => Effect.succeed(success(200, definition))
    })
  })
)

const decodeInput = Schema.decodeUnknownEither(ObjectSchema.ObjectDefinitionInput, { onExcessProperty: "error" })

const putObject = authorized("admin")(
  Effect.gen(function* () {
    const { name } = yield* HttpRouter.params
    const objectName = name ?? ""
    const principal = yield* CurrentPrincipal
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!ObjectSchema.objectNamePattern.test(objectName)) {
      return yield* Effect.fail(
        requestInvalid(`object name '${objectName}' must match ${ObjectSchema.objectNamePattern.source}`)
      )
    }
    const text = yield* readJsonBody(request)
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => requestInvalid(`the body is not valid JSON: ${(error as Error).message}`)
    })
    const input = yield* Either.mapLeft(decodeInput(json), (error) =>
      requestInvalid(`invalid object schema: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
    )
    const definition = ObjectSchema.makeObjectDefinition(objectName, input)
    const result = yield* (yield* ObjectsRepo).put(principal.workspace, definition).pipe(
      Effect.catchTag("ObjectConflict", (conflict) =>
        Effect.fail(
          new ApiFailure({
            status: 409,
            code: ErrorCode.ObjectConflict,
            message: `changing a field's type is not allowed: ${conflict.conflicts
              .map((c) => `${c.field} (${c.previousType} → ${c.nextType})`)
              .join(", ")}; add a new field instead`,
            details: { conflicts: conflict.conflicts }
          })
        )
      )
    )
    return result.created
      ? success(201, result.definition, { location: `/public/v1/objects/${objectName}` })
      : success(200, result.definition)
  })
)

/** The object routes. */
export const objectRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/public/v1/objects", listObjects),
  HttpRouter.get("/public/v1/objects/:name", getObject),
  HttpRouter.put("/public/v1/objects/:name", putObject)
)
