/**
 * Objects and their schemas (SPEC §1.1): the objects of a workspace, the one a request names, and creating or
 * replacing one: the new definition and the indexing of added or removed match keys commit in one transaction,
 * and changing an existing field's type is refused.
 */
import { ObjectSchema } from "@batchwrite/core"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import { ObjectsRepo } from "../storage/ObjectsRepo.js"
import { RecordsRepo } from "../storage/RecordsRepo.js"
import { MalformedInput, ObjectConflict, ObjectNotFound } from "./Errors.js"

/** The answer of {@link Objects} `put`: the definition now in force and whether the object is new. */
export interface PutResult {
  readonly created: boolean
  readonly definition: ObjectSchema.ObjectDefinition
}

const decodeInput = Schema.decodeUnknownEither(ObjectSchema.ObjectDefinitionInput, { onExcessProperty: "error" })

/** The definition a `PUT /objects/{name}` body describes, or what is wrong with it. */
export const definitionOf = (
  name: string,
  text: string
): Either.Either<ObjectSchema.ObjectDefinition, MalformedInput> =>
  Either.gen(function* () {
    if (!ObjectSchema.objectNamePattern.test(name)) {
      return yield* Either.left(
        new MalformedInput({ message: `object name '${name}' must match ${ObjectSchema.objectNamePattern.source}` })
      )
    }
    const json = yield* Either.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) => new MalformedInput({ message: `the body is not valid JSON: ${(error as Error).message}` })
    })
    const input = yield* Either.mapLeft(
      decodeInput(json),
      (error) =>
        new MalformedInput({ message: `invalid object schema: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
    )
    return ObjectSchema.makeObjectDefinition(name, input)
  })

/** The objects of the workspaces. */
export class Objects extends Effect.Service<Objects>()("server/Objects", {
  effect: Effect.gen(function* () {
    const objects = yield* ObjectsRepo
    const records = yield* RecordsRepo

    /** Brings the object's table in line with the match keys the change adds or removes, or refuses a change of a
     * field's type. */
    const applyChange =
      (workspace: string, definition: ObjectSchema.ObjectDefinition) =>
      (previous: Option.Option<ObjectSchema.ObjectDefinition>) =>
        Effect.gen(function* () {
          const conflicts = Option.match(previous, {
            onNone: (): ReadonlyArray<ObjectSchema.FieldTypeConflict> => [],
            onSome: (previous) => ObjectSchema.schemaChangeConflicts(previous, definition)
          })
          if (conflicts.length > 0) return yield* new ObjectConflict({ objectName: definition.name, conflicts })
          const before = Option.match(previous, {
            onNone: (): ReadonlyArray<string> => [],
            onSome: (previous) => previous.matchKeys
          })
          yield* records.changeMatchKeys(workspace, definition, before)
        })

    return {
      /** Every object of the workspace, by name. */
      list: (workspace: string): Effect.Effect<ReadonlyArray<ObjectSchema.ObjectDefinition>> => objects.list(workspace),

      /** The object `name` of the workspace (an object of another workspace is not found, like a missing one). */
      find: (workspace: string, name: string): Effect.Effect<ObjectSchema.ObjectDefinition, ObjectNotFound> =>
        Effect.flatMap(
          objects.get(workspace, name),
          Option.match({
            onNone: () => Effect.fail(new ObjectNotFound({ objectName: name })),
            onSome: Effect.succeed
          })
        ),

      /**
       * Creates or replaces an object's schema. Fields and match keys may be added or removed (stored rows are kept
       * as they are; the values of added match keys are indexed); changing the type of an existing field fails with
       * {@link ObjectConflict}. `created` is true when no object of that name existed (not even a default).
       */
      put: (workspace: string, definition: ObjectSchema.ObjectDefinition): Effect.Effect<PutResult, ObjectConflict> =>
        Effect.map(objects.put(workspace, definition, applyChange(workspace, definition)), (previous) => ({
          created: Option.isNone(previous),
          definition
        }))
    } as const
  }),
  dependencies: [ObjectsRepo.Default, RecordsRepo.Default]
}) {}
