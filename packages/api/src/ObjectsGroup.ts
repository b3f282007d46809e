/**
 * The objects routes (SPEC §1.1): list, read, and create or replace an object's schema (admin scope). Bearer auth;
 * every response carries `RateLimit` and `RateLimit-Policy`.
 */
import { ObjectSchema } from "@batchwrite/core"
import { HttpApiEndpoint, OpenApi } from "@effect/platform"
import {
  ObjectConflictEnvelope,
  ObjectNotFoundEnvelope,
  PayloadTooLargeEnvelope,
  RequestInvalidEnvelope,
  RequestTimeoutEnvelope,
  UnsupportedMediaTypeEnvelope
} from "./ApiErrors.js"
import { Authorization, authenticatedGroup } from "./Authorization.js"
import { basePath } from "./BasePath.js"
import { ObjectNameParam } from "./PathParams.js"
import { ObjectResponse, ObjectsListResponse } from "./Responses.js"

/** `GET /public/v1/objects`: every object of the workspace. */
export const listObjects = HttpApiEndpoint.get("listObjects", "/objects")
  .addSuccess(ObjectsListResponse)
  .annotateContext(
    OpenApi.annotations({
      summary: "List objects",
      description: "Every object of the workspace with its schema, by name (`events` and `profiles` to start with)."
    })
  )

/** `GET /public/v1/objects/{name}`: one object and its schema. */
export const getObject = HttpApiEndpoint.get("getObject")`/objects/${ObjectNameParam}`
  .addSuccess(ObjectResponse)
  .addError(ObjectNotFoundEnvelope)
  .annotateContext(OpenApi.annotations({ summary: "Get an object", description: "The object and its schema." }))

/** `PUT /public/v1/objects/{name}`: create or replace an object's schema (admin scope). */
export const putObject = HttpApiEndpoint.put("putObject")`/objects/${ObjectNameParam}`
  .setPayload(ObjectSchema.ObjectDefinitionInput)
  .addSuccess(ObjectResponse)
  .addSuccess(ObjectResponse, { status: 201 })
  .addError(RequestInvalidEnvelope)
  .addError(RequestTimeoutEnvelope)
  .addError(ObjectConflictEnvelope)
  .addError(PayloadTooLargeEnvelope)
  .addError(UnsupportedMediaTypeEnvelope)
  .annotateContext(
    OpenApi.annotations({
      summary: "Create or replace an object",
      description:
        "Admin scope (else 403). Body: the schema (`fields`, `matchKeys`, optional `orderBy`); the name is in the " +
        "path. Creates the object (`201`, `Location` pointing at it) or replaces its schema (`200`): fields and " +
        "match keys may be added or removed, stored rows are kept as they are. Changing an existing field's type " +
        "is `409 CDP_ETL.OBJECT.CONFLICT` with `details.conflicts`. A bad name or schema is `400 REQUEST_INVALID`."
    })
  )

/** The objects routes, under `/public/v1`, with bearer auth. */
export const ObjectsGroup = authenticatedGroup("objects")
  .add(listObjects)
  .add(getObject)
  .add(putObject)
  .prefix(basePath)
  .middleware(Authorization)
  .annotateContext(OpenApi.annotations({ title: "objects", description: "Objects and their schemas" }))
