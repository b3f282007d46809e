/**
 * Bearer-token authentication (SPEC §1.2): tokens are kept as SHA-256 hashes, looked up by the hash of the
 * presented token (so timing says nothing about the stored tokens) and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Context, Effect, Layer, Option } from "effect"
import { type RateLimitSettings, type Scope, ServerConfig } from "../ServerConfig.js"

/** Who is calling: a token's workspace, scopes and rate limit. `tokenId` names the token without revealing it. */
export interface Principal {
  readonly tokenId: string
  readonly workspace: string
  readonly scopes: ReadonlySet<Scope>
  readonly rateLimit: RateLimitSettings | undefined
}

interface StoredToken {
  readonly hash: Buffer
  readonly principal: Principal
}

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** The `tokenSha256` of a token: what a config file may hold instead of the token. */
export const tokenSha256 = (token: string): string => sha256(token).toString("hex")

/** A new token: 256 random bits, URL-safe, with a `bw_` prefix that secret scanners can recognise. */
export const newToken = (): string => `bw_${randomBytes(32).toString("base64url")}`

/** The bearer token of an `Authorization` header, if it has one. */
export const bearerToken = (authorization: string | undefined): Option.Option<string> => {
  const match = authorization === undefined ? null : /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization)
  return match === null ? Option.none() : Option.some(match[1]!)
}

/** The known tokens. */
export class Tokens extends Context.Tag("server/Tokens")<
  Tokens,
  { readonly authenticate: (authorization: string | undefined) => Option.Option<Principal> }
>() {
  /** Tokens from the server settings. */
  static readonly layer = Layer.effect(
    Tokens,
    Effect.map(ServerConfig, (config) => {
      const byHash = new Map<string, StoredToken>()
      for (const settings of config.tokens) {
        const hash = "token" in settings ? sha256(settings.token) : Buffer.from(settings.tokenSha256, "hex")
        const tokenId = hash.subarray(0, 6).toString("hex")
        byHash.set(hash.toString("hex"), {
          hash,
          principal: {
            tokenId,
            workspace: settings.workspace,
            scopes: new Set(settings.scopes),
            rateLimit: settings.rateLimit
          }
        })
      }
      return {
        authenticate: (authorization) =>
          Option.flatMap(bearerToken(authorization), (token) => {
            const hash = sha256(token)
            const stored = byHash.get(hash.toString("hex"))
            return stored !== undefined && timingSafeEqual(stored.hash, hash)
              ? Option.some(stored.principal)
              : Option.none()
          })
      }
    })
  )
}
