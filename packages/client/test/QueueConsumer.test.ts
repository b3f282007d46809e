/**
 * `QueueConsumer.deliver` on the real service behind the fault server: a message is acknowledged only after its
 * record was accepted, a group whose connection keeps dropping is left unacknowledged for redelivery, and a `202`
 * lost on the way is retried with the same key and stored once.
 */
import { Keys } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Stream } from "effect"
import { DeadLetter } from "../src/DeadLetter.js"
import * as QueueConsumer from "../src/QueueConsumer.js"
import { RecordsClient } from "../src/RecordsClient.js"
import * as FaultServer from "./support/FaultServer.js"
import { relay } from "./support/FaultServer.js"
import { layer as realService, RealService, testOptions } from "./support/RealService.js"

class Faults extends Context.Tag("test/Faults")<Faults, FaultServer.FaultServer>() {}

const notes = {
  fields: { id: { type: "integer", required: true }, run: { type: "string" } },
  matchKeys: []
} as const

layer(Layer.merge(realService, Layer.scoped(Faults, FaultServer.make)), {
  excludeTestServices: true,
  timeout: 60_000
})("QueueConsumer", (it) => {
  it.effect("acknowledges a message only after its record was accepted; dropped groups stay unacknowledged", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      const direct = RecordsClient.layer(testOptions(`${origin}/public/v1`))
      yield* Effect.flatMap(RecordsClient, (client) => client.putObject("queue_notes", notes)).pipe(
        Effect.provide(direct)
      )
      // the groups holding these records never get through; the first answer to the group of 25 is lost
      const dropped = new Set([15, 47])
      const lostOnce = new Set<string>()
      faults.reset(async (request, response) => {
        if (request.method === "POST") {
          const ids = (JSON.parse(request.body) as { records: Array<{ id: number }> }).records.map((r) => r.id)
          if (ids.some((id) => dropped.has(id))) return void response.socket?.destroy()
          const key = String(request.headers["idempotency-key"])
          if (ids.includes(25) && !lostOnce.has(key)) {
            lostOnce.add(key)
            await faults.forward(origin, request) // accepted by the service, but the 202 never arrives
            return void response.socket?.destroy()
          }
        }
        relay(response, await faults.forward(origin, request))
      })
      const acknowledged = new Set<number>()
      const messages = Stream.fromIterable(Array.from({ length: 60 }, (_, id) => id)).pipe(
        Stream.map((id) => ({
          record: { id, run: "acks" },
          messageId: `m-${id}`,
          ack: Effect.sync(() => void acknowledged.add(id))
        }))
      )
      const groups = yield* messages.pipe(
        QueueConsumer.deliver("queue_notes", { mode: "append", maxRecords: 10, maxAge: "200 millis" }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.merge(RecordsClient.layer(testOptions(`${faults.origin}/public/v1`)), DeadLetter.memory))
      )
      const stored = yield* Effect.flatMap(RecordsClient, (client) =>
        Stream.runCollect(client.allRecords("queue_notes"))
      ).pipe(
        Effect.map((rows) => [...rows].map((row) => row.id as number)),
        Effect.provide(direct)
      )
      // every acknowledged message's record is stored, once; no other record is
      assert.strictEqual(new Set(stored).size, stored.length)
      assert.deepStrictEqual(
        [...stored].sort((a, b) => a - b),
        [...acknowledged].sort((a, b) => a - b)
      )
      // the dropped records were never acknowledged; the group whose 202 was lost was, after a replay
      for (const id of dropped) assert.isFalse(acknowledged.has(id))
      assert.isTrue(acknowledged.has(25))
      const unacknowledged = groups.reduce((sum, group) => sum + group.unacknowledged, 0)
      assert.strictEqual(unacknowledged, 60 - acknowledged.size)
      assert.isAtLeast(unacknowledged, 2)
      assert.strictEqual(
        groups.reduce((sum, group) => sum + group.stored, 0),
        acknowledged.size
      )
    })
  )

  it.effect("keys each batch by its message ids", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      faults.reset(async (request, response) => relay(response, await faults.forward(origin, request)))
      const ids = ["b", "a", "c"]
      yield* Stream.fromIterable(ids).pipe(
        Stream.map((id) => ({ record: { id: 1_000, run: `key-${id}` }, messageId: id, ack: Effect.void })),
        QueueConsumer.deliver("queue_notes", { mode: "append", maxRecords: 3, maxAge: "1 second" }),
        Stream.runDrain,
        Effect.provide(Layer.merge(RecordsClient.layer(testOptions(`${faults.origin}/public/v1`)), DeadLetter.memory))
      )
      const keys = faults.requests.filter((r) => r.method === "POST").map((r) => r.headers["idempotency-key"])
      assert.deepStrictEqual(keys, [Keys.queueBatchKey(ids)])
    })
  )
})
