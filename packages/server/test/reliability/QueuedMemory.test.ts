/**
 * A batch waiting for its transaction holds its body text, never its parsed records (several times larger): with
 * many large bodies waiting at once (the 400 × 10 MB flood of `soak/`), holding them took the server's RSS ~500 MiB
 * over its bound, and no test in CI saw it. Here a record is accepted while the storage's one connection is held by
 * another transaction, and must be collectable by the garbage collector before the acceptance commits.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { ObjectSchema } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { capacityBytes } from "../../src/jobs/AcceptedRecords.js"
import { servicesLayer } from "../../src/Server.js"
import { BatchAcceptance } from "../../src/services/BatchAcceptance.js"
import { sqlite } from "../support/Adapters.js"

setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

const events = ObjectSchema.defaultObjects.find((definition) => definition.name === "events")!

/** The services of a node on a fresh SQLite file. */
const services = Layer.unwrapScoped(
  Effect.map(sqlite.freshDatabase, (database) =>
    servicesLayer({
      port: 0,
      host: "127.0.0.1",
      database,
      workers: 1,
      tokens: [],
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
      objects: {},
      requestLog: false
    })
  )
)

/**
 * Starts accepting a record (one append) and answers the fiber and a weak reference to the record; nothing else
 * refers to it. Its body is larger than the records kept for the workers (`AcceptedRecords`), which would hold it
 * by design; so only the acceptance could.
 */
const acceptAside = (acceptance: BatchAcceptance) =>
  Effect.suspend(() => {
    const record = { event: "x".repeat(capacityBytes + 1), occurred_at: "2026-12-04T00:00:00Z" }
    const weak = new WeakRef(record)
    return Effect.map(Effect.fork(acceptance.acceptRecord("default", events, record, null)), (fiber) => ({
      fiber,
      weak
    }))
  })

describe("a batch waiting for its transaction", () => {
  it.live(
    "holds no reference to its parsed records",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const acceptance = yield* BatchAcceptance
        const held = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // The one SQLite connection, held by a transaction until released: the acceptance waits for it.
        const holder = yield* Effect.fork(
          sql.withTransaction(Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(release)))
        )
        yield* Deferred.await(held)
        const { fiber, weak } = yield* acceptAside(acceptance)
        yield* Effect.sleep("200 millis")
        for (let i = 0; i < 3; i++) {
          collectGarbage()
          yield* Effect.sleep("20 millis")
        }
        const collected = weak.deref() === undefined
        const waiting = fiber.unsafePoll() === null
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        const accepted = yield* Fiber.join(fiber)
        assert.strictEqual(accepted.acceptedRecords, 1)
        assert.isTrue(waiting, "the acceptance waited for its transaction")
        assert.isTrue(collected, "the record was collectable while its acceptance waited")
      }).pipe(Effect.provide(services)),
    60_000
  )
})
