/**
 * The batchwrite HTTP API contract (`HttpApi`): every route of SPEC §1 with its headers, bodies, statuses and typed
 * errors, shared by the server and the typed client; the OpenAPI document comes from it.
 */

/** The errors that cross the wire (`Schema.TaggedError`s), their envelope schemas and helpers for the server. */
export * from "./ApiErrors.js"

/** Bearer authentication of the `/public/v1` routes, as an `HttpApiMiddleware` tag. */
export * from "./Authorization.js"

/** The base path `/public/v1`, and the client `baseUrl` of an API URL. */
export * from "./BasePath.js"

/** The API and its OpenAPI document. */
export * from "./BatchwriteApi.js"

/** `GET …/jobs/{jobId}` and `GET …/jobs/{jobId}/errors`. */
export * from "./JobsGroup.js"

/** `GET /objects`, `GET /objects/{name}`, `PUT /objects/{name}`. */
export * from "./ObjectsGroup.js"

/** The examples of the OpenAPI document (`servers`, `examples`, curl commands) and JSON laid out for people. */
export * from "./OpenApiExamples.js"

/** `/healthz`, `/readyz`, `/metrics`, `/public/v1/openapi.json`, `/docs`. */
export * from "./OpsGroup.js"

/** The path parameters `{object}`, `{name}`, `{jobId}`, `{id}`. */
export * from "./PathParams.js"

/** Batch append and upsert, the single-record write, reads of stored rows. */
export * from "./RecordsGroup.js"

/** The request headers (`idempotency-key`, `prefer`) and query parameters (`limit`, `cursor`). */
export * from "./RequestParameters.js"

/** Response header names (lower case), and their OpenAPI documentation. */
export * as ResponseHeaders from "./ResponseHeaders.js"

/** The success bodies: each route's `data` in the success envelope. */
export * from "./Responses.js"
