/**
 * Reading stored records (SPEC §1.9): a page of an object's rows oldest first, filtered by a match key, as JSON
 * or streamed as NDJSON with `Accept: application/x-ndjson`; and one record by `_id`.
 */
import { ErrorCode, Limits } from "@batchwrite/core"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import { CurrentPrincipal } from "../Auth.js"
import { filterValue, RecordsRepo } from "../RecordsRepo.js"
import { notFound, requestInvalid } from "./ApiFailure.js"
import { invalidCursor, pageLimit } from "./Paging.js"
import { success } from "./Responses.js"
import { authorized } from "./Route.js"
import { workspaceObject } from "./WorkspaceObject.js"

const reservedParams = new Set(["limit", "cursor"])

const listRecords = authorized("records:read")(
  Effect.gen(function* () {
    const { object } = yield* HttpRouter.params
    const objectName = object ?? ""
    const principal = yield* CurrentPrincipal
    const request = yield* HttpServerRequest.HttpServerRequest
    const definition = yield* workspaceObject(objectName)
    const query = new URL(request.url, "http://localhost").searchParams
    const filters = [...query.keys()].filter((name) => !reservedParams.has(name))
    if (filters.length > 1 || (filters.length === 1 && !definition.matchKeys.includes(filters[0]!))) {
      return yield* Effect.fail(
        requestInvalid(`filter by one match key of '${objectName}': ${JSON.stringify(definition.matchKeys)}`, {
          matchKeys: definition.matchKeys
        })
      )
    }
    const field = filters[0]
    const filter = Option.map(Option.fromNullable(field), (field) => ({
      field,
      value: filterValue(definition, field, query.get(field) ?? "")
    }))
    const records = yield* RecordsRepo
    if ((request.headers.accept ?? "").includes("application/x-ndjson")) {
      const lines = records.stream(principal.workspace, objectName, { filter }).pipe(
        Stream.map((record) => `${JSON.stringify(record)}\n`),
        Stream.encodeText
      )
      return HttpServerResponse.stream(lines, { contentType: "application/x-ndjson; charset=utf-8" })
    }
    const limit = yield* pageLimit(query.get("limit"), Limits.maxPageLimit)
    const page = yield* records
      .list(principal.workspace, objectName, {
        limit,
        cursor: query.get("cursor") ?? undefined,
        filter
      })
      .pipe(Effect.catchTag("InvalidCursor", () => Effect.fail(invalidCursor())))
    return success(200, page)
  })
)

const getRecord = authorized("records:read")(
  Effect.gen(function* () {
    const { id, object } = yield* HttpRouter.params
    const objectName = object ?? ""
    const principal = yield* CurrentPrincipal
    yield* workspaceObject(objectName)
    const record = yield* (yield* RecordsRepo).get(principal.workspace, objectName, id ?? "")
    return yield* Option.match(record, {
      onNone: () => Effect.fail(notFound(ErrorCode.NotFoundRecord, `record '${id}' does not exist in '${objectName}'`)),
      onSome: (record) => Effect.succeed(success(200, record))
    })
  })
)

/** The read routes. */
export const recordRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/public/v1/records/:object", listRecords),
  HttpRouter.get("/public/v1/records/:object/:id", getRecord)
)
