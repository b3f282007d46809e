/**
 * The batchwrite HTTP API contract: every route of SPEC §1 with its headers, bodies and statuses, shared by the
 * server (which implements it on `HttpRouter`), the typed client (`HttpApiClient.make(BatchwriteApi, …)`) and the
 * OpenAPI document served at `/public/v1/openapi.json`.
 */
import { HttpApi, type HttpApiClient, type HttpApiError, type HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsGroup } from "./JobsGroup.js"
import { ObjectsGroup } from "./ObjectsGroup.js"
import { OpsGroup } from "./OpsGroup.js"
import { RecordsGroup } from "./RecordsGroup.js"
import { documentExamples, servers } from "./OpenApiExamples.js"
import { documentResponses } from "./ResponseHeaders.js"

/** The version of this contract, as the OpenAPI document states it. */
export const apiVersion = "0.1.0"

const description = `Records batch-write service: take records in bulk over HTTP, validate them against an object
schema, store them, and report every record's outcome.

- **Base path** \`/public/v1\`: a client of the hosted API only swaps the origin.
- **Bodies** are JSON (\`application/json; charset=utf-8\`); request bodies may be sent with
  \`Content-Encoding: gzip\` (the 10 MB limit applies after decompression).
- **Envelopes**: success \`{"success": true, "data": …}\`; error
  \`{"success": false, "error": {"code": "CDP_ETL.…", "message": "…", "details": …}}\`.
- **Auth**: \`Authorization: Bearer <token>\` on every \`/public/v1\` route (not on the operations routes);
  scopes \`records:write\`, \`records:read\`, \`admin\`.
- **Rate limits**: per token; every \`/public/v1\` response carries \`RateLimit\` and \`RateLimit-Policy\`; over the
  limit, 429 with \`Retry-After\` (seconds, also in \`error.details.retryAfter\`).

## Idempotency

Send \`Idempotency-Key\` (1–255 visible ASCII characters) on any POST. A key is scoped to the workspace, the
method and the path (so the route and its object). The service keeps a fingerprint of what the body means, not of
its bytes: the canonical record set — the body's JSON with every object's keys sorted and no spacing, that is the
records in their order, each with its keys sorted, plus \`matchKey\` — hashed with SHA-256.

- **Same key, same fingerprint**, within 24 hours: the stored response, status and body byte for byte, with
  \`Idempotent-Replayed: true\`, and no new job. The same logical batch in other bytes (another key order, other
  spacing or escapes, as a client rebuilding a batch from its queue after a restart sends it) is such a replay.
- **Same key, another fingerprint** (other records, another record order, another \`matchKey\`):
  \`422 CDP_ETL.IDEMPOTENCY.KEY_REUSED\`.
- **Same key while the first request is still being handled**: \`409 CDP_ETL.IDEMPOTENCY.IN_PROGRESS\` with
  \`Retry-After\`.
- A 429 or 5xx answer is never stored: the key is free again at once, so the retry can succeed.

A key per logical batch, as the hosted API's recipe derives it: the MD5 of
\`json.dumps(records, sort_keys=True, ensure_ascii=True)\` written as a UUID; \`batchwrite key batch.json\` prints it,
and the examples below carry it.`

/**
 * \`HttpApi.make\` declares \`HttpApiDecodeError\` (400, \`{"_tag": "HttpApiDecodeError", …}\`) on every endpoint: the
 * error \`HttpApiBuilder\` answers when a request does not decode. The batchwrite server answers the envelope
 * instead, so the contract leaves it out (from the client's error types and from the OpenAPI document).
 */
const withoutDecodeError = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): HttpApi.HttpApi<Id, Groups, Exclude<E, HttpApiError.HttpApiDecodeError>, R> => {
  const copy = api.annotateContext(OpenApi.annotations({})) as { errorSchema: Schema.Schema.All }
  copy.errorSchema = Schema.Never
  return copy as unknown as HttpApi.HttpApi<Id, Groups, Exclude<E, HttpApiError.HttpApiDecodeError>, R>
}

/** The batchwrite API: the records, jobs, objects and operations routes. */
export const BatchwriteApi = withoutDecodeError(
  HttpApi.make("batchwrite")
    .add(RecordsGroup)
    .add(JobsGroup)
    .add(ObjectsGroup)
    .add(OpsGroup)
    .annotateContext(
      OpenApi.annotations({
        title: "batchwrite",
        version: apiVersion,
        description,
        license: { name: "MIT" },
        servers,
        transform: (spec) => documentExamples(documentResponses(spec))
      })
    )
)

/** The OpenAPI 3.1 document of the API, as the server serves it at `GET /public/v1/openapi.json`. */
export const openApiSpec: OpenApi.OpenAPISpec = OpenApi.fromApi(BatchwriteApi)

/**
 * The typed client of the API, as `HttpApiClient.make(BatchwriteApi, { baseUrl })` gives it: one namespace per group
 * (`records`, `jobs`, `objects`, `ops`), one method per endpoint.
 */
export type BatchwriteClient =
  typeof BatchwriteApi extends HttpApi.HttpApi<infer _Id, infer Groups, infer E, infer _R>
    ? HttpApiClient.Client<Groups, E, never>
    : never
