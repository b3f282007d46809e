/**
 * SPEC §1.11 faults: a request the database fails answers `503 CDP_ETL.SERVER.UNAVAILABLE` with `Retry-After`
 * (never a bare 500), and its `Idempotency-Key` is free again at once, so the retry succeeds as soon as storage does
 * (issue 15 case 4), also when releasing the key failed as well.
 * The fault is real: a second connection renames the table every acceptance takes its job's sequence from.
 *
 * On PostgreSQL, `/readyz` probes a write (issue 15): a database that answers reads but refuses writes (made
 * read-only here, as a standby after a failover is) is reported down, and ready again once it takes writes. Meanwhile
 * the job workers, whose every claim is a refused write, say so in a warning and wait between claims; no error.
 */
import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Logger, Redacted } from "effect"
import * as Server from "../../src/Server.js"
import * as Postgres from "../support/Postgres.js"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  /** The service on a fresh database, a second connection to that database, and a one-record batch sent with `key`. */
  const serviceWithKey = (key: string) =>
    Effect.gen(function* () {
      const database = yield* adapter.freshDatabase
      const service = yield* Layer.build(TestService.layer({ database }))
      const sql = Context.get(yield* Layer.build(Server.databaseLayer(database)), SqlClient.SqlClient)
      const body = JSON.stringify({ records: [{ event: "fault", occurred_at: "2026-04-21T15:00:00Z" }] })
      const send = TestService.rawPost("/public/v1/records/events/append-batch", body, {
        token: TestService.tokens.alpha,
        headers: { "idempotency-key": key }
      }).pipe(Effect.provide(service))
      return { sql, send }
    })

  describe("a failing database", () => {
    it.live("answers 503 with Retry-After, and frees the request's Idempotency-Key for the retry", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { sql, send } = yield* serviceWithKey("storage-fault-1")

          yield* sql`ALTER TABLE sequences RENAME TO sequences_away`
          const refused = yield* send
          TestService.expectError(refused, 503, "ServiceUnavailable")
          assert.strictEqual(refused.headers["retry-after"], "1")

          yield* sql`ALTER TABLE sequences_away RENAME TO sequences`
          const accepted = yield* send
          assert.strictEqual(accepted.status, 202, accepted.text)
        })
      )
    )

    it.live("frees the Idempotency-Key at once even when releasing it failed too (storage still down)", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { sql, send } = yield* serviceWithKey("storage-fault-2")

          // The batch cannot be stored, and the key cannot be deleted (a trigger refuses it) while storage is down.
          yield* sql`ALTER TABLE sequences RENAME TO sequences_away`
          yield* sql.onDialectOrElse({
            pg: () =>
              Effect.zipRight(
                sql.unsafe(`CREATE FUNCTION refuse_delete() RETURNS trigger AS $$
                  BEGIN RAISE EXCEPTION 'storage down'; END $$ LANGUAGE plpgsql`),
                sql`CREATE TRIGGER keys_kept BEFORE DELETE ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION refuse_delete()`
              ),
            orElse: () =>
              sql`CREATE TRIGGER keys_kept BEFORE DELETE ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'storage down'); END`
          })
          TestService.expectError(yield* send, 503, "ServiceUnavailable")
          // Still down: the retry is refused by storage again (503), not held off as in progress (409).
          TestService.expectError(yield* send, 503, "ServiceUnavailable")

          yield* sql`DROP TRIGGER keys_kept ${sql.onDialectOrElse({ pg: () => sql`ON idempotency_keys`, orElse: () => sql`` })}`
          yield* sql`ALTER TABLE sequences_away RENAME TO sequences`
          // Storage is back: the retry succeeds at once, not after the key's 60 s lease.
          const accepted = yield* send
          assert.strictEqual(accepted.status, 202, accepted.text)
        })
      )
    )
  })
})

/** `GET /readyz` until `done(status, body)`, every 200 ms for at most 20 s; answers the last one. */
const readyzUntil = (done: (status: number, text: string) => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 20_000
    while (true) {
      const response = yield* TestService.rawGet("/readyz")
      if (done(response.status, response.text) || Date.now() > deadline) return response
      yield* Effect.sleep("200 millis")
    }
  })

TestService.onPostgres("a database that refuses writes", (adapter) => {
  describe("readiness probes a write", () => {
    it.live("/readyz says storage is down while the database is read-only, and ready once it takes writes", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const database = yield* adapter.freshDatabase
          if (database._tag !== "Postgres") return assert.fail("a PostgreSQL database")
          const name = new URL(Redacted.value(database.url)).pathname.slice(1)
          // The service's log, as its fibers (the job workers among them) write it.
          const logged: Array<{ readonly level: string; readonly message: string }> = []
          const collecting = Logger.make(({ logLevel, message }) => {
            logged.push({ level: logLevel.label, message: String(message) })
          })
          const service = yield* Layer.build(TestService.layer({ database })).pipe(
            Effect.provide(Logger.replace(Logger.defaultLogger, collecting))
          )
          const batch = TestService.rawPost(
            "/public/v1/records/events/append-batch",
            JSON.stringify({ records: [{ event: "probe", occurred_at: "2026-04-21T15:00:00Z" }] }),
            { token: TestService.tokens.alpha }
          ).pipe(Effect.provide(service))
          const readyz = (done: (status: number, text: string) => boolean) =>
            readyzUntil(done).pipe(Effect.provide(service))
          // New sessions of the database are read-only; ending the service's sessions makes its pool open new ones.
          const setReadOnly = (on: boolean) =>
            Effect.promise(async () => {
              await Postgres.query(
                Postgres.adminUrl,
                on
                  ? `ALTER DATABASE ${name} SET default_transaction_read_only = on`
                  : `ALTER DATABASE ${name} RESET default_transaction_read_only`
              )
              await Postgres.query(
                Postgres.adminUrl,
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`
              )
            })

          assert.strictEqual((yield* readyz((status) => status === 200)).status, 200)
          yield* setReadOnly(true)
          const down = yield* readyz((status, text) => status === 503 && text.includes("read-only"))
          const error = TestService.expectError(down, 503, "ServiceUnavailable")
          const details = error.details as { readonly checks: unknown; readonly storage: string }
          assert.deepStrictEqual(details.checks, { storage: "failing", workers: "ok" })
          assert.match(details.storage, /^writes fail: .*read-only transaction/)
          // Reads still work: the write probe is what sees it.
          assert.notInclude(details.storage, "unreachable")
          const refused = yield* batch
          TestService.expectError(refused, 503, "ServiceUnavailable")
          assert.strictEqual(refused.headers["retry-after"], "1")
          // Two workers polling every 250 ms would claim 16 times in 2 s; they wait longer and longer instead.
          const loggedBefore = logged.length
          yield* Effect.sleep("2 seconds")
          const whileReadOnly = logged.slice(loggedBefore)
          const claimFaults = whileReadOnly.filter((line) => line.message.includes("claiming jobs met a storage fault"))
          assert.isAbove(claimFaults.length, 0, JSON.stringify(whileReadOnly))
          assert.isTrue(
            claimFaults.every((line) => line.level === "WARN"),
            JSON.stringify(claimFaults)
          )
          assert.isBelow(claimFaults.length, 12, JSON.stringify(whileReadOnly))
          assert.deepStrictEqual(
            whileReadOnly.filter((line) => line.level === "ERROR"),
            []
          )

          yield* setReadOnly(false)
          const up = yield* readyz((status) => status === 200)
          assert.strictEqual(up.status, 200, up.text)
          const accepted = yield* batch
          assert.strictEqual(accepted.status, 202, accepted.text)
        })
      )
    )
  })
})
