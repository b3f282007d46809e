/**
 * The object a route names, in the caller's workspace: its definition, or a 404 `NOT_FOUND.OBJECT` (an object of
 * another workspace looks exactly like a missing one).
 */
import type { ObjectSchema } from "@batchwrite/core"
import { Effect, Option } from "effect"
import { CurrentPrincipal } from "../Auth.js"
import { ObjectsRepo } from "../ObjectsRepo.js"
import { type ApiFailure, objectNotFound } from "./ApiFailure.js"

/** The definition of `objectName` in the current principal's workspace. */
export const workspaceObject = (
  objectName: string
): Effect.Effect<ObjectSchema.ObjectDefinition, ApiFailure, CurrentPrincipal | ObjectsRepo> =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const definition = yield* (yield* ObjectsRepo).get(principal.workspace, objectName)
    return yield* Option.match(definition, {
      onNone: () => Effect.fail(objectNotFound(objectName)),
      onSome: Effect.succeed
    })
  })
