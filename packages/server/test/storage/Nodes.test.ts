/**
 * Several nodes on one database (SPEC §2): acceptance order under concurrent transactions (a later acceptance
 * cannot take a sequence before an earlier one commits, so no worker can see job 6 while job 5 is invisible), job
 * leases (a dead claim's job is taken over, and the dead claim can no longer write), schema changes seen at once by
 * every node, idempotency keys shared by nodes, migrations run once when nodes start together, and strings
 * PostgreSQL's `text` cannot hold.
 */
import { ObjectSchema } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as Database from "../../src/storage/Database.js"
import { IdempotencyRepo } from "../../src/storage/IdempotencyRepo.js"
import { JobProcessor } from "../../src/jobs/JobProcessor.js"
import { JobLease, JobsRepo } from "../../src/storage/JobsRepo.js"
import { migrations } from "../../src/storage/Migrations.js"
import { Objects } from "../../src/services/Objects.js"
import { ObjectsRepo } from "../../src/storage/ObjectsRepo.js"
import type { DatabaseSettings } from "../../src/Server.js"
import {
  acceptBatch,
  countStoredRows,
  forEachAdapter,
  onPostgres,
  processAll,
  runBatch,
  storageOn,
  storageWith,
  storedRows
} from "./TestStorage.js"

const counters = ObjectSchema.makeObjectDefinition("counters", {
  fields: { key: { type: "string", required: true }, value: { type: "string" }, note: { type: "string" } },
  matchKeys: ["key"]
})

/** Builds a layer in `scope` and answers its context (a "node"). */
const node = <A>(layer: Layer.Layer<A, unknown>, scope: Scope.Scope) => Effect.orDie(Layer.buildWithScope(layer, scope))

forEachAdapter((adapter) => {
  const shortLease = Layer.succeed(JobLease, Duration.millis(300))
  const TestStorage = storageOn(adapter).pipe(Layer.provide(shortLease))

  describe("acceptance order under concurrent transactions", () => {
    it.live(
      "a later acceptance waits for an earlier uncommitted one, takes the next sequence, and applies after it",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* (yield* Objects).put("w", counters)
          const accepted = yield* Deferred.make<number>()
          const release = yield* Deferred.make<void>()
          // A: accepts inside a transaction that stays open (a slow commit) until released.
          const a = yield* Effect.fork(
            sql.withTransaction(
              Effect.gen(function* () {
                const { sequence } = yield* acceptBatch({
                  workspace: "w",
                  object: "counters",
                  matchKey: "key",
                  records: [{ key: "k", value: "from A", note: "A" }]
                })
                yield* Deferred.succeed(accepted, sequence)
                yield* Deferred.await(release)
                return sequence
              })
            )
          )
          const sequenceA = yield* Deferred.await(accepted)
          // B: a second acceptance of the workspace while A is uncommitted.
          const b = yield* Effect.fork(
            acceptBatch({
              workspace: "w",
              object: "counters",
              matchKey: "key",
              records: [{ key: "k", value: "from B" }]
            })
          )
          // A worker looking for jobs meanwhile.
          const claim = yield* Effect.fork((yield* JobsRepo).claimNext())
          yield* Effect.sleep(Duration.millis(400))
          assert.isTrue(Option.isNone(yield* Fiber.poll(b)), "B must wait for A's commit to take a sequence")
          yield* Deferred.succeed(release, undefined)
          assert.strictEqual(yield* Fiber.join(a), sequenceA)
          const sequenceB = (yield* Fiber.join(b)).sequence
          assert.strictEqual(sequenceB, sequenceA + 1)
          // The claim made while A was open got nothing (PostgreSQL: neither job visible yet) or A (SQLite: it waited
          // for the one connection), never B.
          const claimed = yield* Fiber.join(claim)
          if (Option.isSome(claimed)) {
            assert.strictEqual(claimed.value.sequence, sequenceA)
            yield* (yield* JobProcessor).process(claimed.value)
          }
          yield* processAll
          assert.deepStrictEqual(yield* storedRows("w", "counters"), [
            { _id: "1", key: "k", value: "from B", note: "A" }
          ])
        }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("job leases", () => {
    it.live("a claim whose lease ran out is taken over; the old claim can no longer write; records apply once", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const processor = yield* JobProcessor
        const { jobId } = yield* acceptBatch({
          workspace: "w",
          object: "events",
          records: [{ event: "e", occurred_at: "2026-04-21T15:00:00Z" }]
        })
        const dead = Option.getOrThrow(yield* jobs.claimNext())
        assert.isTrue(Option.isNone(yield* jobs.claimNext()), "a leased job is not claimed twice")
        yield* Effect.sleep(Duration.millis(450))
        const taken = Option.getOrThrow(yield* jobs.claimNext())
        assert.strictEqual(taken.jobId, jobId)
        assert.strictEqual(taken.attempts, 2)
        assert.notStrictEqual(taken.claim, dead.claim)
        // The dead claim wakes up: every write of it is refused.
        assert.isFalse(yield* jobs.renewLease(dead))
        assert.isFalse(yield* jobs.requeue(dead, false))
        const lost = yield* processor.process(dead)
        assert.strictEqual(lost.state, "lost")
        assert.strictEqual(yield* countStoredRows, 0)
        assert.strictEqual((yield* processor.process(taken)).state, "completed")
        assert.strictEqual(yield* countStoredRows, 1)
      }).pipe(Effect.provide(TestStorage))
    )

    it.live("a renewed lease keeps the job with its worker", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        yield* acceptBatch({
          workspace: "w",
          object: "events",
          records: [{ event: "e", occurred_at: "2026-04-21T15:00:00Z" }]
        })
        const claimed = Option.getOrThrow(yield* jobs.claimNext())
        for (let i = 0; i < 4; i++) {
          yield* Effect.sleep(Duration.millis(150))
          assert.isTrue(yield* jobs.renewLease(claimed))
          assert.isTrue(Option.isNone(yield* jobs.claimNext()))
        }
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("strings PostgreSQL text cannot hold", () => {
    it.effect(
      "NUL characters and lone surrogates in records, match keys and rejected values are stored and read back",
      () =>
        Effect.gen(function* () {
          yield* (yield* Objects).put("w", counters)
          const job = yield* runBatch({
            workspace: "w",
            object: "counters",
            matchKey: "key",
            records: [
              { key: "a\u0000b", value: "nul \u0000 inside", note: "lone \ud800 surrogate" },
              { key: "a\u0000b", note: "merged \udfff" },
              { key: "bad", value: 12 },
              { key: "c\u0000", unknown: "x\u0000" }
            ]
          })
          assert.strictEqual(job.state, "completed")
          assert.deepStrictEqual(
            { inserted: job.metrics.insertedRows, updated: job.metrics.updatedRows, invalid: job.metrics.invalidRows },
            { inserted: 1, updated: 1, invalid: 2 }
          )
          assert.deepStrictEqual(yield* storedRows("w", "counters"), [
            { _id: "1", key: "a\u0000b", value: "nul \u0000 inside", note: "merged \udfff" }
          ])
          const page = yield* (yield* JobsRepo).errorsPage("w", "counters", job.jobId, { limit: 10, cursor: undefined })
          const errors = Option.getOrThrow(page).errors
          assert.deepStrictEqual(
            errors.map((error) => error.record),
            [
              { key: "bad", value: 12 },
              { key: "c\u0000", unknown: "x\u0000" }
            ]
          )
          const upsertAgain = yield* runBatch({
            workspace: "w",
            object: "counters",
            matchKey: "key",
            records: [{ key: "a\u0000b", value: null }]
          })
          assert.strictEqual(upsertAgain.metrics.updatedRows, 1)
        }).pipe(Effect.provide(TestStorage))
    )
  })
})

onPostgres("several nodes on one database", (adapter) => {
  const withDatabase = <A, E, R>(f: (settings: DatabaseSettings) => Effect.Effect<A, E, R>) =>
    Effect.scoped(Effect.flatMap(adapter.freshDatabase, f))

  it.live("three nodes starting at once on an empty database run the migrations once", () =>
    withDatabase((settings) =>
      Effect.gen(function* () {
        if (settings._tag !== "Postgres") return assert.fail("a PostgreSQL adapter")
        const scope = yield* Scope.make()
        const started = yield* Effect.all(
          Array.from({ length: 3 }, () =>
            Effect.exit(Layer.buildWithScope(Database.postgres({ url: settings.url, poolSize: 2 }), scope))
          ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          started.map((exit) => (Exit.isSuccess(exit) ? "ok" : String(exit.cause))),
          ["ok", "ok", "ok"]
        )
        const sql = yield* Effect.map(
          Layer.buildWithScope(Database.postgres({ url: settings.url }), scope),
          (context) =>
            Option.getOrThrow(
              Option.fromNullable(context.unsafeMap.get(SqlClient.SqlClient.key) as SqlClient.SqlClient | undefined)
            )
        )
        const applied = yield* sql<{ readonly migration_id: number }>`SELECT migration_id FROM effect_sql_migrations
          ORDER BY migration_id`
        assert.deepStrictEqual(
          applied.map((row) => Number(row.migration_id)),
          Object.keys(migrations).map((name) => Number(name.split("_")[0]))
        )
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.orDie)
    )
  )

  it.live("a schema replaced on one node is in force on the other at once", () =>
    withDatabase((settings) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const nodeA = yield* node(storageWith(settings), scope)
        const nodeB = yield* node(storageWith(settings), scope)
        const objectsA = Layer.succeedContext(nodeA)
        const objectsB = Layer.succeedContext(nodeB)
        const getOnB = Effect.flatMap(ObjectsRepo, (objects) => objects.get("w", "counters")).pipe(
          Effect.provide(objectsB)
        )
        assert.isTrue(Option.isNone(yield* getOnB))
        yield* Effect.flatMap(Objects, (objects) => objects.put("w", counters)).pipe(Effect.provide(objectsA))
        assert.deepStrictEqual(Option.getOrThrow(yield* getOnB).fields, counters.fields)
        const changed = ObjectSchema.makeObjectDefinition("counters", {
          fields: { key: { type: "string", required: true }, value: { type: "string" } },
          matchKeys: ["key"]
        })
        yield* Effect.flatMap(Objects, (objects) => objects.put("w", changed)).pipe(Effect.provide(objectsA))
        assert.deepStrictEqual(Option.getOrThrow(yield* getOnB).fields, changed.fields)
        // A batch accepted and processed on B uses the schema A just wrote: the removed field is a row error.
        const job = yield* runBatch({
          workspace: "w",
          object: "counters",
          matchKey: "key",
          records: [{ key: "k", note: "gone" }, { key: "k2" }]
        }).pipe(Effect.provide(objectsB))
        assert.strictEqual(job.metrics.invalidRows, 1)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.orDie)
    )
  )

  it.live(
    "concurrent schema changes of one object on two nodes: the second sees the first, a type change is refused",
    () =>
      withDatabase((settings) =>
        Effect.gen(function* () {
          const scope = yield* Scope.make()
          const nodes = [
            Layer.succeedContext(yield* node(storageWith(settings), scope)),
            Layer.succeedContext(yield* node(storageWith(settings), scope))
          ]
          const typed = (type: "string" | "integer") =>
            ObjectSchema.makeObjectDefinition("things", {
              fields: { key: { type: "string" }, x: { type } },
              matchKeys: ["key"]
            })
          for (let round = 0; round < 5; round++) {
            const workspace = `w${round}`
            const outcomes = yield* Effect.all(
              (["string", "integer"] as const).map((type, i) =>
                Effect.flatMap(Objects, (objects) => objects.put(workspace, typed(type))).pipe(
                  Effect.provide(nodes[i]!),
                  Effect.match({ onFailure: (error) => error._tag, onSuccess: () => "ok" })
                )
              ),
              { concurrency: 2 }
            )
            assert.sameMembers(outcomes, ["ok", "ObjectConflict"], `round ${round}`)
          }
          yield* Scope.close(scope, Exit.void)
        }).pipe(Effect.orDie)
      )
  )

  it.live("an idempotency key taken on one node is in progress on the other, and replays there once done", () =>
    withDatabase((settings) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const nodeA = Layer.succeedContext(yield* node(storageWith(settings), scope))
        const nodeB = Layer.succeedContext(yield* node(storageWith(settings), scope))
        const key = { workspace: "w", method: "POST", path: "/records/events/append-batch", key: "k1" }
        const begin = (fingerprint: string) => Effect.flatMap(IdempotencyRepo, (keys) => keys.begin(key, fingerprint))
        // Both nodes try the same new key at the same moment: exactly one gets it.
        const [a, b] = yield* Effect.all(
          [begin("f").pipe(Effect.provide(nodeA)), begin("f").pipe(Effect.provide(nodeB))],
          {
            concurrency: 2
          }
        )
        assert.sameMembers([a._tag, b._tag], ["Fresh", "InProgress"])
        // The node that did not get it does not free it on start: its holder is alive.
        assert.strictEqual(
          yield* Effect.flatMap(IdempotencyRepo, (keys) => keys.releaseAbandoned()).pipe(Effect.provide(nodeB)),
          0
        )
        const response = { status: 202, headers: { "content-type": "application/json" }, body: "{}" }
        yield* Effect.flatMap(IdempotencyRepo, (keys) => keys.complete(key, response)).pipe(
          Effect.provide(a._tag === "Fresh" ? nodeA : nodeB)
        )
        assert.deepStrictEqual(yield* begin("f").pipe(Effect.provide(nodeB)), { _tag: "Replay", response })
        assert.deepStrictEqual(yield* begin("f").pipe(Effect.provide(nodeA)), { _tag: "Replay", response })
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.orDie)
    )
  )
})
