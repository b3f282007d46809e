import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import { IdempotencyRepo } from "../../src/storage/IdempotencyRepo.js"
import { JobLease, JobsRepo } from "../../src/storage/JobsRepo.js"
import { JobWorkers } from "../../src/jobs/JobWorkers.js"
import { ObjectsRepo } from "../../src/storage/ObjectsRepo.js"
import { RecordsRepo } from "../../src/storage/RecordsRepo.js"
import { databaseLayer, type DatabaseSettings } from "../../src/Server.js"
import { acceptBatch, countStoredRows, forEachAdapter, storedRows } from "./TestStorage.js"

/** A short job lease, so that a claim of a "dead" run lapses within the test. */
const shortLease = Layer.succeed(JobLease, Duration.millis(600))

/** The storage and the workers on the database `settings`. */
const serviceOn = (settings: DatabaseSettings, workers = 2) =>
  Layer.mergeAll(
    JobWorkers.layer({ workers, pollInterval: Duration.millis(50) }),
    JobsRepo.Default,
    ObjectsRepo.Default,
    RecordsRepo.Default,
    IdempotencyRepo.Default
  ).pipe(Layer.provideMerge(databaseLayer(settings)), Layer.provide(shortLease))

/** The storage alone (no workers) on the database `settings`. */
const storageOn = (settings: DatabaseSettings) =>
  Layer.mergeAll(JobsRepo.Default, ObjectsRepo.Default, RecordsRepo.Default, IdempotencyRepo.Default).pipe(
    Layer.provideMerge(databaseLayer(settings)),
    Layer.provide(shortLease)
  )

const event = { event: "e", occurred_at: "2026-04-21T15:00:00Z" }

forEachAdapter((adapter) => {
  const withDatabaseFile = <A, E, R>(f: (settings: DatabaseSettings) => Effect.Effect<A, E, R>) =>
    Effect.scoped(Effect.flatMap(adapter.freshDatabase, f))

  describe("job workers", () => {
    it.live("process accepted jobs at once; awaitTerminal answers when the job is done", () =>
      withDatabaseFile((filename) =>
        Effect.gen(function* () {
          const workers = yield* JobWorkers
          const jobs = yield* JobsRepo
          assert.isTrue(yield* workers.running)
          const { jobId } = yield* acceptBatch({ workspace: "w", object: "events", records: [event, event] })
          yield* workers.notifyAccepted({ jobId, ordered: false })
          assert.isTrue(yield* workers.awaitTerminal(jobId, Duration.seconds(10)))
          const job = Option.getOrThrow(yield* jobs.get("w", "events", jobId))
          assert.strictEqual(job.state, "completed")
          assert.strictEqual(job.metrics.insertedRows, 2)
          // Already terminal: answers at once (one read), long before its timeout.
          const [waited, terminal] = yield* Effect.timed(workers.awaitTerminal(jobId, Duration.seconds(30)))
          assert.isTrue(terminal)
          assert.isBelow(Duration.toMillis(waited), 5_000)
          // Unknown job: times out.
          assert.isFalse(yield* workers.awaitTerminal("rjob_01JD0000000000000000000000", Duration.millis(120)))
        }).pipe(Effect.provide(serviceOn(filename)))
      )
    )

    it.live("many workers keep upserts of one object in acceptance order", () =>
      withDatabaseFile((filename) =>
        Effect.gen(function* () {
          const workers = yield* JobWorkers
          const accepted: Array<string> = []
          for (let i = 0; i < 30; i++) {
            const upsert = yield* acceptBatch({
              workspace: "w",
              object: "profiles",
              matchKey: "email",
              records: [{ email: "a@x.io", tier: `t${i}` }, { email: `p${i}@x.io` }]
            })
            const append = yield* acceptBatch({ workspace: "w", object: "events", records: [event] })
            accepted.push(upsert.jobId, append.jobId)
            yield* workers.notifyAccepted({ jobId: upsert.jobId, ordered: true })
            yield* workers.notifyAccepted({ jobId: append.jobId, ordered: false })
          }
          for (const jobId of accepted) assert.isTrue(yield* workers.awaitTerminal(jobId, Duration.seconds(20)))
          const profiles = yield* storedRows("w", "profiles")
          assert.strictEqual(profiles.length, 31)
          // The oldest row (ids are shared with the appends running alongside, so not necessarily 1).
          const { _id, ...oldest } = profiles[0]!
          assert.deepStrictEqual(oldest, { email: "a@x.io", tier: "t29" })
          assert.strictEqual((yield* storedRows("w", "events")).length, 30)
        }).pipe(Effect.provide(serviceOn(filename, 4)))
      )
    )

    it.live("on start, jobs left processing are queued again and keys left in progress are freed", () =>
      withDatabaseFile((filename) =>
        Effect.gen(function* () {
          const scope = { workspace: "w", method: "POST", path: "/p", key: "k" }
          // A first run accepts a batch, claims it and dies before committing it (its database file stays).
          const jobId = yield* Effect.gen(function* () {
            const { jobId } = yield* acceptBatch({ workspace: "w", object: "events", records: [event] })
            assert.isTrue(Option.isSome(yield* (yield* JobsRepo).claimNext()))
            yield* (yield* IdempotencyRepo).begin(scope, "f")
            return jobId
          }).pipe(Effect.provide(storageOn(filename)))

          // The next run processes it exactly once and frees the key.
          yield* Effect.gen(function* () {
            const workers = yield* JobWorkers
            assert.isTrue(yield* workers.awaitTerminal(jobId, Duration.seconds(10)))
            const job = Option.getOrThrow(yield* (yield* JobsRepo).get("w", "events", jobId))
            assert.strictEqual(job.metrics.insertedRows, 1)
            assert.strictEqual(yield* countStoredRows, 1)
            // SQLite (one node) frees every key in progress on start; PostgreSQL only keys whose lease ran out, as
            // another live node may be handling that request.
            assert.strictEqual(
              (yield* (yield* IdempotencyRepo).begin(scope, "other"))._tag,
              adapter.name === "sqlite" ? "Fresh" : "Mismatch"
            )
          }).pipe(Effect.provide(serviceOn(filename)))
        })
      )
    )

    it.live("shutting down while busy leaves nothing processing and nothing half-applied", () =>
      withDatabaseFile((filename) =>
        Effect.gen(function* () {
          const jobIds = yield* Effect.gen(function* () {
            const workers = yield* JobWorkers
            const jobIds: Array<string> = []
            for (let j = 0; j < 20; j++) {
              const records = Array.from({ length: 2_000 }, (_, i) => ({ email: `p${j}-${i}@x.io`, tier: "gold" }))
              const { jobId } = yield* acceptBatch({ workspace: "w", object: "profiles", matchKey: "email", records })
              jobIds.push(jobId)
              yield* workers.notifyAccepted({ jobId, ordered: true })
            }
            // Let the workers get going, then close the layer (SIGTERM).
            yield* Effect.sleep(Duration.millis(30))
            return jobIds
          }).pipe(Effect.provide(serviceOn(filename)))

          yield* Effect.gen(function* () {
            const jobs = yield* JobsRepo
            let completed = 0
            for (const jobId of jobIds) {
              const job = Option.getOrThrow(yield* jobs.get("w", "profiles", jobId))
              assert.oneOf(job.state, ["queued", "completed"])
              if (job.state === "completed") completed++
            }
            assert.strictEqual(yield* countStoredRows, completed * 2_000)
            assert.deepStrictEqual(yield* jobs.queueDepth(), { queued: jobIds.length - completed, processing: 0 })
          }).pipe(Effect.provide(storageOn(filename)))
        })
      )
    )
  })
})
