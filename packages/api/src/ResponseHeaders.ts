/**
 * The response headers of the API (SPEC §1.2, §1.5, §1.7, §1.8), which `HttpApi` cannot type per response: their
 * names (lower case, as the server sets them) and the OpenAPI `headers` of each response, added to the generated
 * document by {@link documentResponses}.
 */
import { basePath } from "./BasePath.js"

/** `Location`: the job of a `202`, the row of a `201` single write, the object of a `201` PUT. */
export const location = "location"

/** `Idempotent-Replayed: true`: this is the stored response of an earlier request with the same key. */
export const idempotentReplayed = "idempotent-replayed"

/** `Preference-Applied: wait=N`: the `Prefer: wait=N` of the request was honoured. */
export const preferenceApplied = "preference-applied"

/** `Retry-After`: seconds to wait before retrying (429, 409 `IN_PROGRESS`, and any 503 that knows). */
export const retryAfter = "retry-after"

/** `RateLimit`: the token's remaining quota (IETF httpapi-ratelimit-headers). */
export const rateLimit = "ratelimit"

/** `RateLimit-Policy`: the token's quota policy (IETF httpapi-ratelimit-headers). */
export const rateLimitPolicy = "ratelimit-policy"

/** `WWW-Authenticate: Bearer` of a 401. */
export const wwwAuthenticate = "www-authenticate"

interface HeaderDoc {
  readonly name: string
  readonly description: string
  readonly schema: { readonly type: "string" | "integer" }
}

const docs = {
  location: {
    name: "Location",
    description: "The job (202), the row (201 single write) or the object (201 PUT) this response is about",
    schema: { type: "string" }
  },
  idempotentReplayed: {
    name: "Idempotent-Replayed",
    description: "`true` when this is the stored response of an earlier request with the same Idempotency-Key",
    schema: { type: "string" }
  },
  preferenceApplied: {
    name: "Preference-Applied",
    description: "`wait=N` when the Prefer: wait=N of the request was honoured",
    schema: { type: "string" }
  },
  retryAfter: { name: "Retry-After", description: "Seconds to wait before retrying", schema: { type: "integer" } },
  rateLimit: {
    name: "RateLimit",
    description: "The token's remaining quota (IETF httpapi-ratelimit-headers)",
    schema: { type: "string" }
  },
  rateLimitPolicy: {
    name: "RateLimit-Policy",
    description: "The token's quota policy (IETF httpapi-ratelimit-headers)",
    schema: { type: "string" }
  },
  wwwAuthenticate: { name: "WWW-Authenticate", description: "`Bearer`", schema: { type: "string" } }
} satisfies Record<string, HeaderDoc>

/** The headers a response of `method path` with `status` may carry. */
const headersOf = (method: string, path: string, status: number): ReadonlyArray<HeaderDoc> => {
  if (!path.startsWith(`${basePath}/`) || path === `${basePath}/openapi.json`) return []
  const out: Array<HeaderDoc> = [docs.rateLimit, docs.rateLimitPolicy]
  if (status === 401) out.push(docs.wwwAuthenticate)
  if (status === 429 || status === 503) out.push(docs.retryAfter)
  if (method === "post") {
    if (status === 409) out.push(docs.retryAfter)
    else if (status !== 429 && status < 500) out.push(docs.idempotentReplayed)
    if (status === 200 && path.endsWith("-batch")) out.push(docs.preferenceApplied)
    if (status === 201 || status === 202) out.push(docs.location)
  }
  if (method === "put" && status === 201) out.push(docs.location)
  if (method === "get" && status === 200 && path.endsWith("/jobs/{jobId}")) out.push(docs.preferenceApplied)
  return out
}

type Operation = { readonly responses?: Readonly<Record<string, Response>> }

/** A response of the generated OpenAPI document, as far as these transforms read it. */
export type Response = {
  readonly description?: string
  readonly content?: Readonly<
    Record<string, { readonly schema?: { readonly $ref?: string; readonly anyOf?: ReadonlyArray<{ $ref?: string }> } }>
  >
}

/** A component schema of the generated OpenAPI document, as far as these transforms read it. */
export type Component = {
  readonly description?: string
  readonly properties?: { readonly error?: { readonly properties?: { readonly code?: { readonly enum?: [string] } } } }
}

/** An error an error response may carry: its code and description, from its component schema. */
export interface ErrorOfResponse {
  readonly code: string
  readonly description: string
}

/**
 * The errors an error response of a generated document may carry (`404`: object, job, record, route), read from the
 * codes of its envelope schemas; `undefined` when its body is not made of error envelopes.
 */
export const errorsOfResponse = (
  response: Response,
  components: Readonly<Record<string, Component>>
): ReadonlyArray<ErrorOfResponse> | undefined => {
  const schema = response.content?.["application/json"]?.schema
  const members = schema?.anyOf ?? (schema?.$ref === undefined ? undefined : [schema])
  if (members === undefined) return undefined
  const errors = members.flatMap(({ $ref }) => {
    const component = $ref === undefined ? undefined : components[$ref.slice($ref.lastIndexOf("/") + 1)]
    const code = component?.properties?.error?.properties?.code?.enum?.[0]
    return code === undefined ? [] : [{ code, description: component?.description ?? "" }]
  })
  return errors.length === members.length ? errors : undefined
}

/**
 * The description of an error status: each error it may carry, with its code and description. `HttpApi` keeps only
 * the first error's description.
 */
const describeErrors = (response: Response, components: Readonly<Record<string, Component>>): string | undefined =>
  errorsOfResponse(response, components)
    ?.map(({ code, description }) => `\`${code}\`: ${description}`)
    .join(". ")

/**
 * Completes an OpenAPI document made from the batchwrite contract (the `transform` annotation of `BatchwriteApi`):
 * adds the `headers` of every response, and describes each error status by all the errors it may carry.
 */
export const documentResponses = (spec: Record<string, unknown>): Record<string, unknown> => {
  const components = ((spec.components as { schemas?: Record<string, Component> } | undefined)?.schemas ??
    {}) as Readonly<Record<string, Component>>
  const paths: Record<string, Record<string, Operation>> = {}
  for (const [path, item] of Object.entries((spec.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    const methods: Record<string, Operation> = {}
    for (const [method, operation] of Object.entries(item)) {
      const responses: Record<string, Response> = {}
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const headers = headersOf(method, path, Number(status))
        const description = Number(status) >= 400 ? describeErrors(response, components) : undefined
        responses[status] = {
          ...response,
          ...(description === undefined ? undefined : { description }),
          ...(headers.length === 0
            ? undefined
            : {
                headers: Object.fromEntries(
                  headers.map((header) => [header.name, { description: header.description, schema: header.schema }])
                )
              })
        }
      }
      methods[method] = { ...operation, responses }
    }
    paths[path] = methods
  }
  return { ...spec, paths }
}
