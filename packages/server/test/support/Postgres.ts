/**
 * The PostgreSQL of the tests: a server reached through `BATCHWRITE_TEST_POSTGRES_URL` (default the project
 * machines' `postgres://postgres@127.0.0.1:5432/postgres`), on which every test run creates its own database
 * (`batchwrite_test_<random>`) and drops it afterwards.
 *
 * When no PostgreSQL answers, the PostgreSQL variants are skipped with a console message saying so, except in CI
 * (`CI` set), where `.ci/run` makes sure it is up and a missing server is an error.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Deferred, Effect, Redacted, type Scope } from "effect"

/** The server's maintenance database, from which test databases are created. */
export const adminUrl = process.env.BATCHWRITE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const adminClient = PgClient.layer({
  url: Redacted.make(adminUrl),
  maxConnections: 1,
  connectTimeout: "3 seconds",
  applicationName: "batchwrite-tests"
})

/** Runs one statement on the maintenance database. */
const admin = (statement: string) =>
  Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe(statement)).pipe(Effect.provide(adminClient))

/** Whether PostgreSQL answers; checked once per test file. */
const probe = async (): Promise<boolean> => {
  try {
    await Effect.runPromise(admin("SELECT 1"))
    return true
  } catch {
    return false
  }
}

/** Whether the PostgreSQL variants of the tests run. */
export const postgresAvailable: boolean = await probe()

if (!postgresAvailable) {
  const message = `PostgreSQL is not reachable at ${adminUrl}: the PostgreSQL variants of the storage, integration and process tests are SKIPPED`
  if (process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false") {
    throw new Error(`${message} — in CI this is an error (.ci/run starts PostgreSQL)`)
  }
  console.warn(`\n*** ${message} ***\n`)
}

/** The URL of database `name` on the test server. */
export const databaseUrl = (name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A new, empty database for one test run (its URL), dropped when the scope closes. */
export const freshDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function* () {
    const name = `batchwrite_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`
    yield* admin(`CREATE DATABASE ${name}`)
    return name
  }).pipe(Effect.orDie),
  (name) => Effect.ignoreLogged(admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
).pipe(Effect.map(databaseUrl))

/** {@link freshDatabase} for plain async tests: the URL and a function that drops the database. */
export const createDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const name = `batchwrite_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`
  await Effect.runPromise(admin(`CREATE DATABASE ${name}`))
  return {
    url: databaseUrl(name),
    drop: () => Effect.runPromise(Effect.ignore(admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  }
}

/** Runs a query on the database at `url` (for process tests that look at what several nodes stored). */
export const query = <A extends object = Record<string, unknown>>(
  url: string,
  text: string
): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<A>(text)).pipe(
      Effect.provide(
        PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: "batchwrite-tests" })
      )
    )
  )

/**
 * Runs `statement` (e.g. `LOCK TABLE …`) in a transaction on the database at `url` and holds that transaction open
 * until the returned function is called, which commits it. Resolves once the statement ran.
 */
export const holdInTransaction = async (url: string, statement: string): Promise<() => Promise<void>> => {
  const ran = Effect.runSync(Deferred.make<void>())
  const release = Effect.runSync(Deferred.make<void>())
  const held = Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, (sql) =>
      sql.withTransaction(
        sql.unsafe(statement).pipe(Effect.zipRight(Deferred.succeed(ran, undefined)), Effect.zipRight(release))
      )
    ).pipe(
      Effect.provide(
        PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: "batchwrite-tests" })
      )
    )
  )
  await Promise.race([Effect.runPromise(ran), held])
  return async () => {
    Effect.runSync(Deferred.succeed(release, undefined))
    await held
  }
}
