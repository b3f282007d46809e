/**
 * SQLite's WAL is checkpointed by a thread of its own: pages a commit appended to the WAL reach the database file
 * soon after, without the writer checkpointing (it does so only past `writerCheckpointPages`, far more than written
 * here), with the connection on either thread.
 */
import { statSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer } from "effect"
import * as Database from "../../src/storage/Database.js"
import { writerCheckpointPages } from "../../src/storage/SqliteCheckpointer.js"
import { tempDirectory } from "../support/Adapters.js"

const pageBytes = 4096
/** About 2 MiB in one commit: 512 pages, well under the writer's own checkpoint threshold. */
const rows = 512
const rowText = "x".repeat(pageBytes - 100)

for (const executor of ["worker-thread", "main-thread"] as const) {
  describe(`sqlite checkpoints, connection on the ${executor}`, () => {
    it.scopedLive("a commit's pages reach the database file without the writer checkpointing", () =>
      Effect.gen(function* () {
        assert.isAbove(writerCheckpointPages, rows * 4, "the writer would not checkpoint this little")
        const filename = join(yield* tempDirectory, "checkpoints.db")
        const storage = yield* Effect.orDie(Layer.build(Database.sqlite({ filename, executor })))
        const sql = Context.get(storage, SqlClient.SqlClient)
        yield* sql`CREATE TABLE scratch (v TEXT NOT NULL)`
        const before = statSync(filename).size
        yield* sql.withTransaction(
          Effect.forEach(Array.from({ length: rows }), () => sql`INSERT INTO scratch (v) VALUES (${rowText})`, {
            discard: true
          })
        )
        const copied = () => statSync(filename).size - before >= rows * pageBytes * 0.9
        for (let tries = 0; tries < 100 && !copied(); tries++) yield* Effect.sleep(Duration.millis(50))
        assert.isTrue(copied(), "the committed pages were copied into the database file within 5 s")
      })
    )
  })
}
