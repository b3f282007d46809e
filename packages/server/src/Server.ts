/**
 * The Records service as one layer: HTTP on a real port, the routes, auth, rate limits, the repositories on the
 * chosen storage, the job workers, and the objects of the configuration. `batchwrite serve` launches it; tests
 * and other Effect applications compose it.
 */
import { resolve } from "node:path"
import { ObjectSchema } from "@batchwrite/core"
import { BatchwriteApi } from "@batchwrite/api"
import { HttpApiBuilder, HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Redacted } from "effect"
import { AuthenticationLive } from "./http/Authentication.js"
import { edgeLayer } from "./http/Edge.js"
import { serveGracefully } from "./http/GracefulServe.js"
import { headersTimeoutMillis, makeNodeServer, requestTimeoutMillis } from "./http/NodeServer.js"
import { JobsHttpLive } from "./http/JobsHttp.js"
import { ObjectsHttpLive } from "./http/ObjectsHttp.js"
import { OpsHttpLive } from "./http/OpsHttp.js"
import { RecordsHttpLive } from "./http/RecordsHttp.js"
import { routerConfig } from "./http/RouteTable.js"
import { AcceptedRecords } from "./jobs/AcceptedRecords.js"
import { Admission, type AdmissionLimits, AdmissionSettings, defaultAdmissionLimits } from "./services/Admission.js"
import { JobWorkers } from "./jobs/JobWorkers.js"
import { ServerConfig, type ServerSettings } from "./ServerConfig.js"
import { Tokens } from "./services/Auth.js"
import { AppendPreparationConfig, type AppendPreparationSettings } from "./services/AppendPreparation.js"
import { BatchAcceptance, InlineApply, type InlineApplySettings, inlineApplyFor } from "./services/BatchAcceptance.js"
import { Jobs } from "./services/Jobs.js"
import { Objects } from "./services/Objects.js"
import { PendingKeyReleases } from "./services/PendingKeyReleases.js"
import { RateLimiter } from "./services/RateLimit.js"
import { Records, SingleWriteWait } from "./services/Records.js"
import { ServiceMetrics } from "./services/ServiceMetrics.js"
import { StorageHealth } from "./services/StorageHealth.js"
import * as Database from "./storage/Database.js"
import { IdempotencyLease, IdempotencyRepo } from "./storage/IdempotencyRepo.js"
import { JobLease, JobsRepo } from "./storage/JobsRepo.js"

/**
 * Where the service stores: one SQLite file (one node), or a PostgreSQL database that any number of nodes share,
 * through a pool of at most `poolSize` connections per node.
 */
export type DatabaseSettings =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted; readonly poolSize?: number | undefined }

/** Everything a node needs. */
export interface ServeOptions extends ServerSettings {
  readonly database: DatabaseSettings
  readonly workers: number
  /**
   * How long a worker's claim holds a job without renewal (renewed while it runs): how soon the jobs of a node that
   * died are taken by the others (PostgreSQL). Default 30 seconds.
   */
  readonly jobLease?: Duration.DurationInput | undefined
  /**
   * How long an idempotency key stays in progress without its request completing: how soon the keys of requests
   * in flight on a node that died are free for retries (PostgreSQL). Default 60 seconds.
   */
  readonly requestLease?: Duration.DurationInput | undefined
  /**
   * How long a single write that goes through the queue waits for its job before answering `202` with the job.
   * Default 30 seconds.
   */
  readonly singleWriteWait?: Duration.DurationInput | undefined
  /** How long a request's headers may take to arrive, from its first byte (then `408`). Default 20 seconds. */
  readonly headersTimeout?: Duration.DurationInput | undefined
  /** How long a whole request, body included, may take to arrive (then `408`). Default 60 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /**
   * Admission control: the most request body bytes in flight on the node (default 256 MiB) and the most records a
   * workspace may have accepted and not yet committed (default 2,000,000); writes beyond either are answered `503`
   * with `Retry-After` before their body is read.
   */
  readonly admission?: Partial<AdmissionLimits> | undefined
  /**
   * Inline apply (`BatchAcceptance`): the most and the fewest records a batch may have to be applied in its
   * acceptance's transaction (default 10,000 and, by storage (`inlineApplyFor`), 1 on SQLite or 2,000 on PostgreSQL;
   * a most of 0: never, every batch is queued for the workers), the most body bytes being applied so at once
   * (default 32 MiB) and the largest body (4 MiB), and whether ordered batches are too (default no).
   */
  readonly inlineApply?: Partial<InlineApplySettings> | undefined
  /**
   * The threads that parse, check and serialize appends to objects without match keys off the HTTP thread
   * (`AppendPreparation`): how many at most (default {@link defaultPreparationThreads}; 0: none, on the HTTP thread)
   * and from which body size (default 64 KiB).
   */
  readonly appendPreparation?: Partial<AppendPreparationSettings> | undefined
}

export { defaultPreparationThreads } from "./services/AppendPreparation.js"

export {
  headersTimeoutMillis,
  keepAliveTimeoutMillis,
  requestTimeoutMillis,
  timeoutCheckMillis
} from "./http/NodeServer.js"

/** Where the settings store, for people: the SQLite file's absolute path, or the PostgreSQL URL without its password. */
export const describeDatabase = (settings: DatabaseSettings): string => {
  if (settings._tag === "Sqlite") return `SQLite file ${resolve(settings.filename)}`
  const url = new URL(Redacted.value(settings.url))
  if (url.password !== "") url.password = "***"
  return `PostgreSQL ${url.href}`
}

/** The start-up line: where the API, its reference page and the storage are. */
const logStarted = (database: DatabaseSettings) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const origin = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
      yield* Effect.logInfo(
        `batchwrite is serving the API on ${origin}/public/v1 (reference: ${origin}/docs), storing in ${describeDatabase(database)}`
      )
    })
  )

/** The storage layer of the settings: `SqlClient` on a migrated database. */
export const databaseLayer = (settings: DatabaseSettings) =>
  settings._tag === "Sqlite"
    ? Database.sqlite({ filename: settings.filename })
    : Database.postgres({ url: settings.url, poolSize: settings.poolSize })

/** Creates or replaces the configured objects, on start. */
const configuredObjects = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const objects = yield* Objects
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

/** The services the routes use, on a storage, with the job workers running. */
export const servicesLayer = (options: ServeOptions) =>
  Layer.mergeAll(
    BatchAcceptance.Default,
    Records.Default,
    Jobs.Default,
    Objects.Default,
    JobsRepo.Default,
    IdempotencyRepo.Default,
    Tokens.layer,
    RateLimiter.layer,
    ServiceMetrics.Default,
    StorageHealth.Default,
    Admission.Default,
    PendingKeyReleases.Default,
    AcceptedRecords.Default
  ).pipe(
    Layer.provideMerge(JobWorkers.layer({ workers: options.workers, pollInterval: "250 millis" })),
    Layer.provideMerge(Layer.succeed(ServerConfig, options)),
    Layer.provideMerge(databaseLayer(options.database)),
    Layer.provide(
      Layer.mergeAll(
        options.jobLease === undefined ? Layer.empty : Layer.succeed(JobLease, Duration.decode(options.jobLease)),
        options.requestLease === undefined
          ? Layer.empty
          : Layer.succeed(IdempotencyLease, Duration.decode(options.requestLease)),
        options.singleWriteWait === undefined
          ? Layer.empty
          : Layer.succeed(SingleWriteWait, Duration.decode(options.singleWriteWait)),
        Layer.succeed(AdmissionSettings, { ...defaultAdmissionLimits, ...options.admission }),
        Layer.succeed(InlineApply, { ...inlineApplyFor(options.database._tag), ...options.inlineApply }),
        Layer.succeed(AppendPreparationConfig, {
          ...AppendPreparationConfig.defaultValue(),
          ...options.appendPreparation
        })
      )
    )
  )

/**
 * The HTTP application served on `host:port` with every service it needs. Port 0 picks a free port: the layer
 * provides the `HttpServer`, whose `address` tells which.
 */
export const layer = (options: ServeOptions) => {
  const services = servicesLayer(options)
  const nodeServer = makeNodeServer({
    headers: Duration.toMillis(options.headersTimeout ?? headersTimeoutMillis),
    request: Duration.toMillis(options.requestTimeout ?? requestTimeoutMillis)
  })
  const api = HttpApiBuilder.api(BatchwriteApi).pipe(
    Layer.provide([RecordsHttpLive, JobsHttpLive, ObjectsHttpLive, OpsHttpLive]),
    Layer.provide(AuthenticationLive)
  )
  const http = Layer.scopedDiscard(
    Effect.flatMap(HttpApiBuilder.httpApp.pipe(HttpRouter.withRouterConfig(routerConfig)), (app) =>
      serveGracefully(nodeServer, app)
    )
  ).pipe(
    Layer.provide(Layer.mergeAll(api, edgeLayer(options.requestLog))),
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    Layer.merge(logStarted(options.database)),
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
