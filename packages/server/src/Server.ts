/**
 * The Records service as one layer: HTTP on a real port, the routes, auth, rate limits, the repositories on the
 * chosen storage, the job workers, and the objects of the configuration. `batchwrite serve` launches it; tests
 * and other Effect applications compose it.
 */
import { createServer } from "node:http"
import { ObjectSchema } from "@batchwrite/core"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Tokens } from "./Auth.js"
import * as Database from "./Database.js"
import { serveGracefully } from "./http/GracefulServe.js"
import { observeRequests, router } from "./http/Router.js"
import { IdempotencyRepo } from "./IdempotencyRepo.js"
import { JobsRepo } from "./JobsRepo.js"
import { JobWorkers } from "./JobWorkers.js"
import { ObjectsRepo } from "./ObjectsRepo.js"
import { RateLimiter } from "./RateLimit.js"
import { RecordsRepo } from "./RecordsRepo.js"
import { ServerConfig, type ServerSettings } from "./ServerConfig.js"
import { ServiceMetrics } from "./ServiceMetrics.js"

/** Where the service stores. */
export type DatabaseSettings = { readonly _tag: "Sqlite"; readonly filename: string }

/** Everything a node needs. */
export interface ServeOptions extends ServerSettings {
  readonly database: DatabaseSettings
  readonly workers: number
}

const databaseLayer = (settings: DatabaseSettings) => Database.sqlite({ filename: settings.filename })

/** Creates or replaces the configured objects, on start. */
const configuredObjects = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const objects = yield* ObjectsRepo
    for (const [workspace, definitions] of Object.entries(config.objects)) {
      for (const definition of definitions) {
        yield* objects
          .put(workspace, definition)
          .pipe(
            Effect.catchTag("ObjectConflict", (conflict) =>
              Effect.dieMessage(
                `config object '${definition.name}' of workspace '${workspace}' changes field types: ${conflict.conflicts
                  .map((c) => c.field)
                  .join(", ")}`
              )
            )
          )
      }
    }
  })
)

/** The services the routes use, on a storage. */
export const servicesLayer = (options: ServeOptions) =>
  Layer.mergeAll(
    JobWorkers.layer({ workers: options.workers, pollInterval: "250 millis" }),
    ObjectsRepo.Default,
    RecordsRepo.Default,
    JobsRepo.Default,
    IdempotencyRepo.Default,
    Tokens.layer,
    RateLimiter.layer,
    ServiceMetrics.Default
  ).pipe(Layer.provideMerge(Layer.succeed(ServerConfig, options)), Layer.provideMerge(databaseLayer(options.database)))

/**
 * The HTTP application served on `host:port` with every service it needs. Port 0 picks a free port: the layer
 * provides the `HttpServer`, whose `address` tells which.
 */
export const layer = (options: ServeOptions) => {
  const services = servicesLayer(options)
  const nodeServer = createServer()
  const http = Layer.scopedDiscard(serveGracefully(nodeServer, router, observeRequests(options.requestLog))).pipe(
    HttpServer.withLogAddress,
    Layer.provideMerge(NodeHttpServer.layer(() => nodeServer, { port: options.port, host: options.host }))
  )
  // The configured objects exist before the first request is accepted.
  return http.pipe(Layer.provide(Layer.provideMerge(configuredObjects, services)))
}

/** Turns config-file objects (`name` + schema) into definitions. */
export const objectsFromConfig = (
  objects: Readonly<Record<string, ReadonlyArray<ObjectSchema.ObjectDefinitionInput & { readonly name: string }>>>
): Readonly<Record<string, ReadonlyArray<ObjectSchema.ObjectDefinition>>> =>
  Object.fromEntries(
    Object.entries(objects).map(([workspace, inputs]) => [
      workspace,
      inputs.map(({ name, ...input }) => ObjectSchema.makeObjectDefinition(name, input))
    ])
  )
