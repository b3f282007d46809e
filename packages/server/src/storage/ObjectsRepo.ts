/**
 * The objects of each workspace (SPEC §1.1): the stored definitions, plus the default objects `events` and
 * `profiles` until a workspace replaces them. Definitions are read on every batch. On a single node (the only
 * writer) the stored ones are cached in memory per workspace and the cache is refreshed by `put`. On shared storage
 * another node may `put` at any time, so every read goes to the database (one indexed query on a small table):
 * no node ever validates or applies a batch against a schema another node has already replaced.
 */
import { ObjectSchema } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect, Option, Schema } from "effect"
import { lockObject } from "./RecordTables.js"
import { dieOnSqlError } from "./StorageFault.js"
import { Topology } from "./Topology.js"

const decodeDefinition = Schema.decodeUnknownSync(Schema.parseJson(ObjectSchema.ObjectDefinition))

const defaultsByName = new Map(ObjectSchema.defaultObjects.map((definition) => [definition.name, definition]))

const byName = (a: ObjectSchema.ObjectDefinition, b: ObjectSchema.ObjectDefinition) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/** The objects of each workspace: stored definitions, and the defaults until replaced. */
export class ObjectsRepo extends Effect.Service<ObjectsRepo>()("server/ObjectsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const cache = new Map<string, ReadonlyMap<string, ObjectSchema.ObjectDefinition>>()
    // Bumped by every put, so a read that raced with a put does not cache what it read before the put.
    let generation = 0
    const cacheable = (yield* Topology) === "single-node"
    const readStored = (workspace: string) =>
      Effect.map(
        sql<{ readonly definition: string }>`SELECT definition FROM objects WHERE workspace = ${workspace}`,
        (rows) => new Map(rows.map((row) => decodeDefinition(row.definition)).map((d) => [d.name, d] as const))
      )

    const stored = (workspace: string): Effect.Effect<ReadonlyMap<string, ObjectSchema.ObjectDefinition>> =>
      Effect.suspend(() => {
        const cached = cache.get(workspace)
        if (cached !== undefined) return Effect.succeed(cached)
        const readAt = generation
        return Effect.orDie(readStored(workspace)).pipe(
          Effect.tap((definitions) => {
            if (cacheable && generation === readAt) cache.set(workspace, definitions)
          })
        )
      })

    return {
      /** Every object of the workspace (stored ones, and the defaults not replaced), sorted by name. */
      list: (workspace: string): Effect.Effect<ReadonlyArray<ObjectSchema.ObjectDefinition>> =>
        Effect.map(stored(workspace), (definitions) => {
          const all = new Map(defaultsByName)
          for (const [name, definition] of definitions) all.set(name, definition)
          return Array.from(all.values()).sort(byName)
        }),

      /** The object `name` of the workspace: the stored definition, else the default of that name. */
      get: (workspace: string, name: string): Effect.Effect<Option.Option<ObjectSchema.ObjectDefinition>> =>
        Effect.map(stored(workspace), (definitions) =>
          Option.orElse(Option.fromNullable(definitions.get(name)), () => Option.fromNullable(defaultsByName.get(name)))
        ),

      /**
       * Creates or replaces an object's definition in ONE transaction: finds the definition in force (stored, else the
       * default of that name), runs `alsoInTransaction` with it (which may refuse the change, or change what depends
       * on the definition, such as the index of match-key values), then writes the new one. Concurrent puts of one
       * object take turns. Answers the definition that was in force before.
       */
      put: <E, R>(
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        alsoInTransaction: (previous: Option.Option<ObjectSchema.ObjectDefinition>) => Effect.Effect<void, E, R>
      ): Effect.Effect<Option.Option<ObjectSchema.ObjectDefinition>, E, R> =>
        dieOnSqlError(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const previous = yield* sql.withTransaction(
              Effect.gen(function* () {
                // Concurrent puts of one object (on several nodes) take turns, so each checks its type changes against
                // the definition the other wrote, and with the object's first writes (which create its table).
                yield* lockObject(sql, workspace, definition.name)
                const rows = yield* sql<{ readonly definition: string }>`SELECT definition FROM objects
                WHERE workspace = ${workspace} AND name = ${definition.name}`
                const previous = Option.orElse(
                  Option.map(Option.fromNullable(rows[0]), (row) => decodeDefinition(row.definition)),
                  () => Option.fromNullable(defaultsByName.get(definition.name))
                )
                yield* alsoInTransaction(previous)
                yield* sql`INSERT INTO objects ${sql.insert({
                  workspace,
                  name: definition.name,
                  definition: JSON.stringify(definition),
                  created_at: now,
                  updated_at: now
                })} ON CONFLICT (workspace, name) DO UPDATE SET definition = excluded.definition,
                updated_at = excluded.updated_at`
                return previous
              })
            )
            generation++
            cache.delete(workspace)
            return previous
          })
        )
    } as const
  })
}) {}
