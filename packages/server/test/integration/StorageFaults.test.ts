/**
 * SPEC §1.11 faults: a request the database fails answers `503 CDP_ETL.SERVER.UNAVAILABLE` with `Retry-After`
 * (never a bare 500), and its `Idempotency-Key` is free again at once, so the retry succeeds as soon as storage does.
 * The fault is real: a second connection renames the table every accepted batch is stored in.
 */
import { assert, describe, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import * as Server from "../../src/Server.js"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  describe("a failing database", () => {
    it.live("answers 503 with Retry-After, and frees the request's Idempotency-Key for the retry", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const database = yield* adapter.freshDatabase
          const service = yield* Layer.build(TestService.layer({ database }))
          const sql = Context.get(yield* Layer.build(Server.databaseLayer(database)), SqlClient.SqlClient)
          const body = JSON.stringify({ records: [{ event: "fault", occurred_at: "2026-04-21T15:00:00Z" }] })
          const send = TestService.rawPost("/public/v1/records/events/append-batch", body, {
            token: TestService.tokens.alpha,
            headers: { "idempotency-key": "storage-fault-1" }
          }).pipe(Effect.provide(service))

          yield* sql`ALTER TABLE job_bodies RENAME TO job_bodies_away`
          const refused = yield* send
          TestService.expectError(refused, 503, "ServiceUnavailable")
          assert.strictEqual(refused.headers["retry-after"], "1")

          yield* sql`ALTER TABLE job_bodies_away RENAME TO job_bodies`
          const accepted = yield* send
          assert.strictEqual(accepted.status, 202, accepted.text)
        })
      )
    )
  })
})
