/**
 * SQLite with its connection on a worker thread (the default) and on the calling thread: both commit a transaction
 * all or nothing, also when a write the thread does not wait for (pipelined) fails in the middle of it, and the
 * connection goes on working afterwards.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import * as Database from "../../src/storage/Database.js"
import { tempDirectory } from "../support/Adapters.js"

const on = (executor: "worker-thread" | "main-thread") =>
  Layer.unwrapScoped(
    Effect.map(tempDirectory, (directory) => Database.sqlite({ filename: join(directory, "thread.db"), executor }))
  )

const countRows = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ readonly n: number }>`SELECT COUNT(*) AS n FROM sequences`, (rows) => Number(rows[0]!.n))
)

const insert = (workspace: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO sequences ${sql.insert({ workspace, last_sequence: 1 })}`.pipe(Effect.asVoid)
  )

/**
 * Stores the row "first", then runs a transaction of three writes whose middle one, `failing`, takes "first"'s
 * primary key: the transaction fails and stores nothing.
 */
const failsWhole = (failing: Effect.Effect<void, unknown, SqlClient.SqlClient>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* insert("first")
    const failed = yield* Effect.exit(
      sql.withTransaction(
        Effect.gen(function* () {
          yield* insert("a")
          yield* failing
          yield* insert("b")
        })
      )
    )
    assert.isTrue(failed._tag === "Failure", "the transaction fails")
    assert.strictEqual(yield* countRows, 1, "nothing of the failed transaction is stored")
  })

for (const executor of ["worker-thread", "main-thread"] as const) {
  describe(`sqlite connection on the ${executor}`, () => {
    it.effect("a transaction whose later write fails leaves nothing, and the connection goes on", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // The insert statement is known as a write after its first run: inside a transaction it is then pipelined.
        yield* failsWhole(insert("first"))
        yield* sql.withTransaction(Effect.zipRight(insert("c"), insert("d")))
        assert.strictEqual(yield* countRows, 3)
      }).pipe(Effect.provide(on(executor)))
    )

    it.effect(
      "a write whose text was never run, pipelined as its text has no RETURNING, fails its transaction too",
      () =>
        failsWhole(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.asVoid(sql`INSERT INTO sequences (workspace, last_sequence) VALUES (${"first"}, ${7})`)
          )
        ).pipe(Effect.provide(on(executor)))
    )

    it.effect("a failing write inside a nested transaction rolls back only that part when it is handled", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* insert("first")
        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* insert("outer")
            const nested = yield* Effect.exit(sql.withTransaction(Effect.zipRight(insert("inner"), insert("first"))))
            assert.isTrue(nested._tag === "Failure", "the nested transaction fails")
            yield* insert("after")
          })
        )
        const rows = yield* sql<{ readonly workspace: string }>`SELECT workspace FROM sequences ORDER BY workspace`
        assert.deepStrictEqual(
          rows.map((row) => row.workspace),
          ["after", "first", "outer"]
        )
      }).pipe(Effect.provide(on(executor)))
    )

    it.live("statements of concurrent fibers never run inside another fiber's transaction", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* insert("first")
        const failing = sql.withTransaction(
          Effect.gen(function* () {
            yield* insert("t1")
            yield* Effect.sleep("20 millis")
            yield* insert("first")
          })
        )
        const outside = Effect.forEach(["o1", "o2", "o3"], (name) =>
          Effect.zipRight(Effect.sleep("5 millis"), insert(name))
        )
        const [transaction] = yield* Effect.all([Effect.exit(failing), outside], { concurrency: "unbounded" })
        assert.isTrue(transaction._tag === "Failure")
        const rows = yield* sql<{ readonly workspace: string }>`SELECT workspace FROM sequences ORDER BY workspace`
        assert.deepStrictEqual(
          rows.map((row) => row.workspace),
          ["first", "o1", "o2", "o3"]
        )
      }).pipe(Effect.provide(on(executor)))
    )
  })
}
