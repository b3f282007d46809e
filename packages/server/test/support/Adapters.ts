/**
 * The storage adapters every storage, integration and process test runs on: SQLite (a fresh file in a temporary
 * directory) and PostgreSQL (a fresh database per run, see `Postgres.ts`). `forEachAdapter` declares a block of
 * tests once per adapter; the PostgreSQL block is skipped, with a console message, only when no PostgreSQL answers
 * outside CI.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe } from "@effect/vitest"
import { Effect, Redacted, type Scope } from "effect"
import type { DatabaseSettings } from "../../src/Server.js"
import * as Postgres from "./Postgres.js"

/** A storage adapter of the tests. */
export interface Adapter {
  readonly name: "sqlite" | "postgres"
  /** The settings of a new, empty database, removed when the scope closes. */
  readonly freshDatabase: Effect.Effect<DatabaseSettings, never, Scope.Scope>
}

/** A temporary directory, removed when the scope closes. */
export const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "batchwrite-test-"))),
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
)

/** SQLite: a new file in a new temporary directory. */
export const sqlite: Adapter = {
  name: "sqlite",
  freshDatabase: Effect.map(tempDirectory, (directory) => ({
    _tag: "Sqlite" as const,
    filename: join(directory, "batchwrite.db")
  }))
}

/** PostgreSQL: a new database on the test server, dropped afterwards. */
export const postgres: Adapter = {
  name: "postgres",
  freshDatabase: Effect.map(Postgres.freshDatabase, (url) => ({
    _tag: "Postgres" as const,
    url: Redacted.make(url),
    poolSize: 8
  }))
}

/** Declares `body`'s tests once per adapter, each in a `describe` named after it. */
export const forEachAdapter = (body: (adapter: Adapter) => void): void => {
  describe("sqlite", () => body(sqlite))
  if (Postgres.postgresAvailable) describe("postgres", () => body(postgres))
  else describe.skip("postgres (SKIPPED: PostgreSQL is not reachable)", () => body(postgres))
}

/** Declares `body`'s tests for PostgreSQL only (several nodes on one database), skipped loudly when it is absent. */
export const onPostgres = (name: string, body: (adapter: Adapter) => void): void => {
  if (Postgres.postgresAvailable) describe(`postgres: ${name}`, () => body(postgres))
  else describe.skip(`postgres: ${name} (SKIPPED: PostgreSQL is not reachable)`, () => body(postgres))
}

/** Declares `body`'s process tests once per adapter (`ServeProcess.start({ adapter })`). */
export const forEachProcessAdapter = (body: (adapter: "sqlite" | "postgres") => void): void => {
  describe("sqlite", () => body("sqlite"))
  if (Postgres.postgresAvailable) describe("postgres", () => body("postgres"))
  else describe.skip("postgres (SKIPPED: PostgreSQL is not reachable)", () => body("postgres"))
}
