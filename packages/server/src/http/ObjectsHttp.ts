/**
 * The objects routes of the contract (SPEC §1.1): list, read, and create or replace an object's schema (admin scope).
 * The PUT reads its own body (`handleRaw`), with the same limits as the writes.
 */
import { BatchwriteApi, Caller } from "@batchwrite/api"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { definitionOf, Objects } from "../services/Objects.js"
import { requireScope } from "./Authentication.js"
import { answering } from "./ErrorMapping.js"
import { readJsonBody } from "./RequestBody.js"
import { ok, success, toHttp } from "./Responses.js"

/** The handlers of the objects group. */
export const ObjectsHttpLive = HttpApiBuilder.group(BatchwriteApi, "objects", (handlers) =>
  handlers
    .handle("listObjects", () =>
      Effect.gen(function* () {
        const { workspace } = yield* Caller
        return ok({ objects: yield* (yield* Objects).list(workspace) })
      })
    )
    .handle("getObject", ({ path }) =>
      Effect.gen(function* () {
        const { workspace } = yield* Caller
        return ok(yield* answering((yield* Objects).find(workspace, path.name)))
      })
    )
    .handleRaw("putObject", ({ path, request }) =>
      Effect.gen(function* () {
        const { workspace } = yield* requireScope("admin")
        const definition = yield* answering(definitionOf(path.name, yield* readJsonBody(request)))
        const result = yield* answering((yield* Objects).put(workspace, definition))
        return toHttp(
          result.created
            ? success(201, result.definition, { location: `/public/v1/objects/${path.name}` })
            : success(200, result.definition)
        )
      })
    )
)
