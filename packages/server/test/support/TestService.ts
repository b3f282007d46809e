/**
 * Test set-up of the integration suite: the whole service (`Server.layer`) on a free port of 127.0.0.1 over a fresh
 * database of a storage adapter (a SQLite file, or a PostgreSQL database), a typed client of `@batchwrite/api` per token, a raw HTTP client for the requests the typed client
 * cannot express (gzip, other content types, malformed bodies), and small helpers to wait for jobs and read errors.
 */
import {
  type AcceptedBatchResponse,
  type ApiError,
  BatchwriteApi,
  type BatchwriteClient,
  errorEnvelopes,
  preferWait,
  type RecordInsertedResponse
} from "@batchwrite/api"
import { type Job, ObjectSchema } from "@batchwrite/core"
import {
  FetchHttpClient,
  type Headers,
  HttpApiClient,
  HttpClient,
  type HttpClientError,
  HttpClientRequest,
  HttpServer
} from "@effect/platform"
import { assert } from "@effect/vitest"
import { Context, type Duration, Effect, Either, Layer, Logger, LogLevel, Schema } from "effect"
import * as Server from "../../src/Server.js"
import type { DatabaseSettings } from "../../src/Server.js"
import type { AppendPreparationSettings } from "../../src/services/AppendPreparation.js"
import type { RateLimitSettings, TokenSettings } from "../../src/ServerConfig.js"
import { type Adapter, sqlite } from "./Adapters.js"

export { type Adapter, forEachAdapter, onPostgres } from "./Adapters.js"

/** The bearer tokens of the test service. */
export const tokens = {
  /** Workspace `alpha`, every scope. */
  alpha: "alpha-all-scopes-token",
  /** Workspace `alpha`, `records:write` only. */
  alphaWrite: "alpha-write-only-token",
  /** Workspace `alpha`, `records:read` only. */
  alphaRead: "alpha-read-only-token",
  /** Workspace `alpha`, `admin` only. */
  alphaAdmin: "alpha-admin-only-token",
  /** Workspace `beta`, every scope. */
  beta: "beta-all-scopes-token"
} as const

/** The name of a token of {@link tokens}. */
export type TokenName = keyof typeof tokens

/**
 * `accounts`, configured in both workspaces: matched by `account_id` (or `slug`), ordered by `updated_at` (the
 * event-time guard of SPEC §1.4).
 */
export const accountsObject: ObjectSchema.ObjectDefinition = ObjectSchema.makeObjectDefinition("accounts", {
  fields: {
    account_id: { type: "string", required: true },
    slug: { type: "string" },
    name: { type: "string" },
    plan: { type: "string" },
    seats: { type: "integer" },
    updated_at: { type: "datetime" },
    meta: { type: "json" }
  },
  matchKeys: ["account_id", "slug"],
  orderBy: "updated_at"
})

/** `counters`, configured in workspace `alpha`: matched by `key`, no `orderBy` (pure acceptance order). */
export const countersObject: ObjectSchema.ObjectDefinition = ObjectSchema.makeObjectDefinition("counters", {
  fields: {
    key: { type: "string", required: true },
    a: { type: "integer" },
    b: { type: "integer" },
    c: { type: "integer" },
    writer: { type: "string" }
  },
  matchKeys: ["key"]
})

/** Options of {@link layer}. */
export interface TestServiceOptions {
  /** The rate limit of every token; default generous (1,000 requests/s, burst 5,000). */
  readonly rateLimit?: RateLimitSettings
  /** Job workers; default 2. */
  readonly workers?: number
  /** The storage adapter; default SQLite. */
  readonly adapter?: Adapter
  /** An existing database to use instead of a fresh one of the adapter (several nodes on one database). */
  readonly database?: DatabaseSettings
  /** How long a single write waits for its job before answering 202; default 30 s. */
  readonly singleWriteWait?: Duration.DurationInput
  /** How long a whole request may take to arrive; default the service's (60 s). */
  readonly requestTimeout?: Duration.DurationInput
  /** The preparation threads of appends (`AppendPreparation`); default the service's. */
  readonly appendPreparation?: Partial<AppendPreparationSettings>
}

/** A response as the raw client read it. */
export interface RawResponse {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
}

/** What the tests use: the origin, a typed client per token (and one without a token) and a raw client. */
export interface TestServiceShape {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** The typed client of each token. */
  readonly api: { readonly [Name in TokenName]: BatchwriteClient }
  /** The typed client sending no `Authorization` header. */
  readonly anonymous: BatchwriteClient
  /** The typed client of any bearer token (unknown ones included). */
  readonly clientOf: (token: string) => BatchwriteClient
  /** A plain HTTP client whose relative URLs are resolved against the origin. */
  readonly raw: HttpClient.HttpClient
}

/** The running service of a `layer(...)` block. */
export class TestService extends Context.Tag("test/TestService")<TestService, TestServiceShape>() {}

const tokenSettings = (): ReadonlyArray<TokenSettings> => [
  { token: tokens.alpha, workspace: "alpha", scopes: ["records:write", "records:read", "admin"] },
  { token: tokens.alphaWrite, workspace: "alpha", scopes: ["records:write"] },
  { token: tokens.alphaRead, workspace: "alpha", scopes: ["records:read"] },
  { token: tokens.alphaAdmin, workspace: "alpha", scopes: ["admin"] },
  { token: tokens.beta, workspace: "beta", scopes: ["records:write", "records:read", "admin"] }
]

/**
 * The service on a fresh database of the adapter (default a SQLite file in a fresh temporary directory), listening on a free port of 127.0.0.1, and
 * the clients to reach it. Build it with `layer(TestService.layer(), { excludeTestServices: true })`: the service
 * runs on the live clock.
 */
export const layer = (options: TestServiceOptions = {}): Layer.Layer<TestService> =>
  Layer.scoped(
    TestService,
    Effect.gen(function* () {
      const database = options.database ?? (yield* (options.adapter ?? sqlite).freshDatabase)
      const context = yield* Layer.build(
        Server.layer({
          port: 0,
          host: "127.0.0.1",
          database,
          workers: options.workers ?? 2,
          tokens: tokenSettings(),
          rateLimit: options.rateLimit ?? { requestsPerSecond: 1_000, burst: 5_000 },
          objects: { alpha: [accountsObject, countersObject], beta: [accountsObject] },
          requestLog: false,
          singleWriteWait: options.singleWriteWait,
          requestTimeout: options.requestTimeout,
          appendPreparation: options.appendPreparation
        })
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("the service did not listen on TCP")
      const origin = `http://127.0.0.1:${address.port}`
      const http = yield* HttpClient.HttpClient
      const raw = http.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(origin)))
      const makeClient = (token: string | undefined) =>
        HttpApiClient.make(BatchwriteApi, {
          baseUrl: origin,
          ...(token === undefined
            ? {}
            : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token)) })
        }).pipe(Effect.provideService(HttpClient.HttpClient, http))
      const api = {} as { [Name in TokenName]: BatchwriteClient }
      for (const name of Object.keys(tokens) as Array<TokenName>) api[name] = yield* makeClient(tokens[name])
      const anonymous = yield* makeClient(undefined)
      const clientOf = (token: string) => Effect.runSync(makeClient(token))
      return { origin, api, anonymous, clientOf, raw }
    }).pipe(
      Effect.orDie,
      // The service's fibers inherit this: no "Listening on" line, warnings and errors still show.
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  ).pipe(Layer.provide(FetchHttpClient.layer))

/** Sends a request with the raw client and reads the whole response as text. */
export const send = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<RawResponse, HttpClientError.HttpClientError, TestService> =>
  Effect.gen(function* () {
    const { raw } = yield* TestService
    const response = yield* raw.execute(request)
    const text = yield* response.text
    return { status: response.status, headers: response.headers, text }
  })

/** A raw POST of `body` (bytes or text) with a content type and extra headers, as a token. */
export const rawPost = (
  path: string,
  body: string | Uint8Array,
  options: {
    readonly token?: string
    readonly contentType?: string
    readonly headers?: Record<string, string>
  } = {}
): Effect.Effect<RawResponse, HttpClientError.HttpClientError, TestService> => {
  const contentType = options.contentType ?? "application/json"
  let request = HttpClientRequest.post(path).pipe(
    typeof body === "string"
      ? HttpClientRequest.bodyText(body, contentType)
      : HttpClientRequest.bodyUint8Array(body, contentType),
    HttpClientRequest.setHeaders(options.headers ?? {})
  )
  if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
  return send(request)
}

/** A raw GET as a token. */
export const rawGet = (
  path: string,
  options: { readonly token?: string; readonly headers?: Record<string, string> } = {}
): Effect.Effect<RawResponse, HttpClientError.HttpClientError, TestService> => {
  let request = HttpClientRequest.get(path).pipe(HttpClientRequest.setHeaders(options.headers ?? {}))
  if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
  return send(request)
}

/**
 * The error of a raw response: its status must be `status` and its body the error envelope that `@batchwrite/api`
 * decodes into the class tagged `tag` (as the typed client would); the test fails otherwise, saying why.
 */
export const expectError = <Tag extends ApiError["_tag"]>(
  response: RawResponse,
  status: number,
  tag: Tag
): Extract<ApiError, { readonly _tag: Tag }> => {
  assert.strictEqual(response.status, status, `status of ${response.text}`)
  const envelope = errorEnvelopes.find((schema) => schema.tag === tag)!
  const body = JSON.parse(response.text) as { readonly error?: { readonly code?: unknown } }
  assert.strictEqual(body.error?.code, envelope.code, response.text)
  const decoded = Schema.decodeUnknownEither(envelope as unknown as Schema.Schema<ApiError, unknown>)(body)
  if (Either.isLeft(decoded)) {
    return assert.fail(`the ${tag} envelope does not decode: ${response.text}\n${decoded.left.message}`)
  }
  return decoded.right as Extract<ApiError, { readonly _tag: Tag }>
}

/** The job once terminal, long-polling `GET …/jobs/{jobId}` with `Prefer: wait=…`. */
export const awaitJob = (
  client: BatchwriteClient,
  objectName: string,
  jobId: string
): Effect.Effect<Job.Job, unknown> =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { data } = yield* client.jobs.getJob({
        path: { object: objectName, jobId },
        headers: { prefer: preferWait(10) }
      })
      if (data.state === "completed" || data.state === "failed") return data
    }
    return yield* Effect.dieMessage(`job ${jobId} did not finish`)
  })

/** Every stored row of an object in the token's workspace, following the cursor (oldest first). */
export const allRecords = (client: BatchwriteClient, objectName: string, filter: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const rows: Array<Record<string, unknown>> = []
    let cursor: string | null = null
    do {
      const page: {
        readonly data: { readonly records: ReadonlyArray<Record<string, unknown>>; nextCursor: string | null }
      } = yield* client.records.listRecords({
        path: { object: objectName },
        urlParams: { ...filter, limit: 1_000, ...(cursor === null ? {} : { cursor }) }
      })
      rows.push(...page.data.records)
      cursor = page.data.nextCursor
    } while (cursor !== null)
    return rows
  })

/** A stored row without the fields the service adds. */
export const fieldsOf = (row: Record<string, unknown>): Record<string, unknown> => {
  const { _createdAt, _id, _updatedAt, ...fields } = row
  return fields
}

/** The `sequence` of a job (its place in the workspace's acceptance order). */
export const sequenceOf = (client: BatchwriteClient, objectName: string, jobId: string) =>
  Effect.map(
    client.jobs.getJob({ path: { object: objectName, jobId }, headers: {} }),
    (response) => response.data.sequence
  )

/** The `data` of a raw success response. */
export const dataOf = <A = Record<string, unknown>>(response: RawResponse): A => {
  const body = JSON.parse(response.text) as { readonly success: boolean; readonly data: A }
  assert.isTrue(body.success, response.text)
  return body.data
}

/**
 * `POST /records/{object}` through the typed client, answered with the row (201 or 200); fails the test when the
 * service answered 202 (the one-record job was not done within 30 s).
 */
export const writeRow = (request: {
  readonly path: { readonly object: string }
  readonly urlParams: { readonly mode?: "append" | "upsert" }
  readonly headers: { readonly "idempotency-key"?: string }
  readonly payload: Record<string, unknown>
}) =>
  Effect.flatMap(TestService, ({ api }) =>
    Effect.map(
      api.alpha.records.writeRecord(
        request as Parameters<BatchwriteClient["records"]["writeRecord"]>[0]
      ) as Effect.Effect<typeof RecordInsertedResponse.Type | typeof AcceptedBatchResponse.Type, ApiError>,
      (response) => {
        if (!("outcome" in response.data)) return assert.fail(`the write was queued as job ${response.data.jobId}`)
        return { ...response, data: response.data }
      }
    )
  )
