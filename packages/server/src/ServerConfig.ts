/**
 * The configuration of one service node: where it listens, where it stores, how many workers, the tokens and
 * their workspaces, scopes and rate limits, and the objects to create. `batchwrite serve` builds it from its
 * options, `BATCHWRITE_*` variables and the `--config` file.
 */
import { ObjectSchema } from "@batchwrite/core"
import { Context, Schema } from "effect"

/** A scope a token can hold (SPEC §1.2). */
export const Scope = Schema.Literal("records:write", "records:read", "admin")
export type Scope = typeof Scope.Type

/** Every scope: what the quick-start token gets. */
export const allScopes: ReadonlyArray<Scope> = ["records:write", "records:read", "admin"]

/** A token rate limit: `requestsPerSecond` refilled continuously, up to `burst` at once. */
export const RateLimitSettings = Schema.Struct({
  requestsPerSecond: Schema.Number.pipe(Schema.positive()),
  burst: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive()))
})
export type RateLimitSettings = typeof RateLimitSettings.Type

/** The SHA-256 of a token, in hex: what a config file holds instead of the token (`batchwrite tokens new`). */
export const TokenSha256 = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "tokenSha256 must be 64 lower-case hex digits" })
)

/** Who a token is and what it may do. */
const TokenGrant = {
  workspace: Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,62}$/)),
  scopes: Schema.optionalWith(Schema.Array(Scope), { default: () => allScopes }),
  rateLimit: Schema.optional(RateLimitSettings)
}

/**
 * A token of the config file: the token itself (hashed on load, never kept or logged in clear), or only its
 * `tokenSha256`, so that the file holds no secret.
 */
export const TokenSettings = Schema.Union(
  Schema.Struct({
    token: Schema.String.pipe(Schema.minLength(8, { message: () => "a token needs at least 8 characters" })),
    ...TokenGrant
  }),
  Schema.Struct({ tokenSha256: TokenSha256, ...TokenGrant })
)
export type TokenSettings = typeof TokenSettings.Type

/** The `--config` file: tokens, and objects per workspace. */
export const ConfigFile = Schema.Struct({
  tokens: Schema.optionalWith(Schema.Array(TokenSettings), { default: () => [] }),
  objects: Schema.optionalWith(
    Schema.Record({
      key: Schema.String,
      value: Schema.Array(
        Schema.extend(ObjectSchema.ObjectDefinitionInput, Schema.Struct({ name: ObjectSchema.ObjectName }))
      )
    }),
    { default: () => ({}) }
  ),
  rateLimit: Schema.optional(RateLimitSettings)
})
export type ConfigFile = typeof ConfigFile.Type

/** The settings of one node. */
export interface ServerSettings {
  readonly port: number
  readonly host: string
  readonly tokens: ReadonlyArray<TokenSettings>
  /** The rate limit of tokens that name none. */
  readonly rateLimit: RateLimitSettings
  /** Objects to create or replace on start, by workspace. */
  readonly objects: Readonly<Record<string, ReadonlyArray<ObjectSchema.ObjectDefinition>>>
  /**
   * Log one line per request on stdout (method, path, status, records, ms; never a token or a query): `"text"`, or
   * `"json"` for one JSON object per line; `false` for none.
   */
  readonly requestLog: false | "text" | "json"
}

/** The node's settings, provided at the edge. */
export class ServerConfig extends Context.Tag("server/ServerConfig")<ServerConfig, ServerSettings>() {}

/** Defaults: SPEC §4 (`127.0.0.1:8787`) and a generous 100 requests/s per token. */
export const defaultRateLimit: RateLimitSettings = { requestsPerSecond: 100, burst: 200 }
