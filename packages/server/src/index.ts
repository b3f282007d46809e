/**
 * The batchwrite Records service as layers: HTTP handlers on @effect/platform, storage on SQLite, durable jobs
 * and workers, idempotency, rate limits and auth.
 */

/** Bearer tokens, workspaces and scopes. */
export * as Auth from "./Auth.js"

/** The storage layers (SQLite) with migrations. */
export * as Database from "./Database.js"

/** The service as one layer, for `batchwrite serve`, tests and other applications. */
export * as Server from "./Server.js"

/** The settings of a node and the `--config` file. */
export * as ServerConfig from "./ServerConfig.js"
