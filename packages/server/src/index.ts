/**
 * The batchwrite Records service as layers: HTTP handlers on @effect/platform, storage on SQLite or PostgreSQL
 * (many nodes), durable jobs and workers, idempotency, rate limits and auth.
 */

/** Bearer tokens, workspaces and scopes. */
export * as Auth from "./services/Auth.js"

/** The storage layers (SQLite, PostgreSQL) with migrations. */
export * as Database from "./storage/Database.js"

/** An online backup of the SQLite database while the service runs. */
export * as SqliteBackup from "./storage/SqliteBackup.js"

/** The service as one layer, for `batchwrite serve`, tests and other applications. */
export * as Server from "./Server.js"

/** The settings of a node and the `--config` file. */
export * as ServerConfig from "./ServerConfig.js"

/** The table of each object's rows and its columns (for tools that read the database, such as the benchmarks). */
export * as RecordTables from "./storage/RecordTables.js"

/** Stored rows of objects: batch writes inside a job's transaction, and reads (for tools such as the benchmarks). */
export * as RecordsRepo from "./storage/RecordsRepo.js"
