import { ObjectsRepo } from "../../src/storage/ObjectsRepo.js"
import { ErrorCode, Job, Limits, ObjectSchema } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Fiber, Option } from "effect"
import { InvalidCursor } from "../../src/storage/Cursor.js"
import { JobProcessor } from "../../src/jobs/JobProcessor.js"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { RecordsRepo } from "../../src/storage/RecordsRepo.js"
import {
  acceptBatch,
  countRows,
  countStoredRows,
  countKeyValues,
  forEachAdapter,
  processAll,
  putObject,
  requeueProcessing,
  runBatch,
  storageOn,
  storedRows
} from "./TestStorage.js"

forEachAdapter((adapter) => {
  const TestStorage = storageOn(adapter)

  const countAttempts = (jobId: string) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.map(sql<{ readonly attempts: number }>`SELECT attempts FROM jobs WHERE id = ${jobId}`, (rows) =>
        Number(rows[0]!.attempts)
      )
    )

  const event = (i: number) => ({ event: `e${i}`, occurred_at: "2026-04-21T15:00:00Z", user_id: `u${i}` })

  describe("jobs: accept, claim, process", () => {
    it.live("a job is queued with its sequence, then completed with metrics and row errors", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const first = yield* acceptBatch({ workspace: "w1", object: "events", records: [event(1)] })
        const second = yield* acceptBatch({
          workspace: "w1",
          object: "events",
          records: [event(1), event(2), { event: "bad", occurred_at: "2026-04-21T15:00:00" }]
        })
        const other = yield* acceptBatch({ workspace: "w2", object: "events", records: [event(1)] })
        assert.strictEqual(first.sequence, 1)
        assert.strictEqual(second.sequence, 2)
        assert.strictEqual(other.sequence, 1)

        const queued = Option.getOrThrow(yield* jobs.get("w1", "events", second.jobId))
        assert.strictEqual(queued.state, "queued")
        assert.strictEqual(queued.startedAt, null)
        assert.deepStrictEqual(queued.metrics, {
          totalRows: 3,
          processedRows: 0,
          insertedRows: 0,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 0
        })
        assert.strictEqual(queued.errorsPath, `/records/events/jobs/${second.jobId}/errors`)
        assert.isFalse("failure" in queued)

        const results = yield* processAll
        assert.strictEqual(results.length, 3)
        assert.isTrue(results.every((result) => result.state === "completed"))

        const job = Option.getOrThrow(yield* jobs.get("w1", "events", second.jobId))
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.sequence, 2)
        assert.strictEqual(job.operation, "append-batch")
        assert.strictEqual(job.acceptedRecords, 3)
        assert.isString(job.startedAt)
        assert.isString(job.completedAt)
        assert.isTrue(job.createdAt <= job.startedAt! && job.startedAt! <= job.completedAt!)
        assert.deepStrictEqual(job.metrics, {
          totalRows: 3,
          processedRows: 3,
          insertedRows: 2,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 1
        })
        assert.deepStrictEqual(job.errors, [
          {
            index: 2,
            code: ErrorCode.RequestInvalid,
            field: "occurred_at",
            pointer: "/records/2/occurred_at",
            message: "datetime needs a zone: 2026-04-21T15:00:00"
          }
        ])
        assert.strictEqual((yield* storedRows("w1", "events")).length, 3)
        assert.strictEqual((yield* storedRows("w2", "events")).length, 1)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a job whose every row is invalid is completed, with every error paged with its record", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const records = Array.from({ length: 250 }, (_, i) => ({ event: i, occurred_at: "yesterday" }))
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "events", records })
        yield* processAll
        const job = Option.getOrThrow(yield* jobs.get("w", "events", jobId))
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.metrics.invalidRows, 250)
        assert.strictEqual(job.metrics.insertedRows, 0)
        // Two errors per row (event not a string, occurred_at not a datetime): 500 in all, 100 inline.
        assert.strictEqual(job.errors.length, Limits.maxRowErrorsInline)
        assert.deepStrictEqual(
          job.errors.slice(0, 2).map((error) => [error.index, error.field]),
          [
            [0, "event"],
            [0, "occurred_at"]
          ]
        )
        const all = Option.getOrThrow(yield* jobs.get("w", "events", jobId, { errorsLimit: Infinity }))
        assert.strictEqual(all.errors.length, 500)

        const paged: Array<{ readonly index: number; readonly field: string | null; readonly record: unknown }> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = Option.getOrThrow(yield* jobs.errorsPage("w", "events", jobId, { limit: 77, cursor }))
          paged.push(...page.errors)
          cursor = page.nextCursor ?? undefined
          pages++
        } while (cursor !== undefined)
        assert.strictEqual(pages, Math.ceil(500 / 77))
        assert.strictEqual(paged.length, 500)
        paged.forEach((error, i) => {
          assert.strictEqual(error.index, Math.floor(i / 2))
          assert.deepStrictEqual(error.record, records[error.index])
        })
        const exact = Option.getOrThrow(yield* jobs.errorsPage("w", "events", jobId, { limit: 500, cursor: undefined }))
        assert.strictEqual(exact.nextCursor, null)

        const bad = yield* Effect.flip(jobs.errorsPage("w", "events", jobId, { limit: 10, cursor: "bm9wZQ" }))
        assert.instanceOf(bad, InvalidCursor)
        const recordsCursor = Option.getOrThrow(
          yield* Effect.map(
            (yield* RecordsRepo).list("w", "events", { limit: 1, cursor: undefined, filter: Option.none() }),
            (page) => Option.fromNullable(page.nextCursor).pipe(Option.orElse(() => Option.some("cjE")))
          )
        )
        const foreign = yield* Effect.flip(jobs.errorsPage("w", "events", jobId, { limit: 10, cursor: recordsCursor }))
        assert.instanceOf(foreign, InvalidCursor)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a job of another workspace or another object is not found", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const { jobId } = yield* acceptBatch({ workspace: "w1", object: "events", records: [event(1)] })
        assert.isTrue(Option.isSome(yield* jobs.get("w1", "events", jobId)))
        assert.isTrue(Option.isNone(yield* jobs.get("w2", "events", jobId)))
        assert.isTrue(Option.isNone(yield* jobs.get("w1", "profiles", jobId)))
        assert.isTrue(Option.isNone(yield* jobs.errorsPage("w2", "events", jobId, { limit: 10, cursor: undefined })))
        assert.isTrue(Option.isNone(yield* jobs.get("w1", "events", "rjob_01JD0000000000000000000000")))
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a job whose object no longer exists fails with CDP_ETL.JOB.FAILED", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        yield* putObject("w", { name: "things", fields: { a: { type: "string" } }, matchKeys: [] })
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "things", records: [{ a: "x" }] })
        // The object of the job is looked up at processing time: a job naming an unknown object fails.
        const orphan = yield* acceptBatch({ workspace: "w", object: "ghosts", records: [{ a: "x" }] })
        const results = yield* processAll
        assert.deepStrictEqual(
          results.map((result) => result.state),
          ["completed", "failed"]
        )
        const failed = Option.getOrThrow(yield* jobs.get("w", "ghosts", orphan.jobId))
        assert.strictEqual(failed.state, "failed")
        assert.strictEqual(failed.failure?.code, ErrorCode.JobFailed)
        assert.match(failed.failure?.message ?? "", /ghosts/)
        assert.isString(failed.completedAt)
        assert.strictEqual(Option.getOrThrow(yield* jobs.get("w", "things", jobId)).state, "completed")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a field removed between acceptance and processing is a per-row REQUEST_SCHEMA error", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const fields = { a: { type: "string" }, b: { type: "string" } } as const
        yield* putObject("w", { name: "things", fields, matchKeys: [] })
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "things", records: [{ a: "x" }, { b: "y" }] })
        yield* putObject("w", { name: "things", fields: { a: fields.a }, matchKeys: [] })
        yield* processAll
        const job = Option.getOrThrow(yield* jobs.get("w", "things", jobId))
        assert.strictEqual(job.metrics.insertedRows, 1)
        assert.strictEqual(job.metrics.invalidRows, 1)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.code, error.field, error.pointer]),
          [[1, ErrorCode.RequestSchema, "b", "/records/1/b"]]
        )
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("terminal jobs older than the retention are purged with their row errors", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "events", records: [{ event: 1 }] })
        const queued = yield* acceptBatch({ workspace: "w", object: "events", records: [event(1)] })
        const claimed = Option.getOrThrow(yield* jobs.claimNext())
        assert.strictEqual(claimed.jobId, jobId)
        yield* (yield* JobProcessor).process(claimed)
        assert.strictEqual(yield* countRows("row_errors"), 2)
        assert.strictEqual(yield* jobs.purgeOlderThan(new Date(0)), 0)
        assert.strictEqual(yield* jobs.purgeOlderThan(new Date(Date.now() + 1_000)), 1)
        assert.isTrue(Option.isNone(yield* jobs.get("w", "events", jobId)))
        assert.strictEqual(yield* countRows("row_errors"), 0)
        // Queued jobs are never purged.
        assert.isTrue(Option.isSome(yield* jobs.get("w", "events", queued.jobId)))
        assert.deepStrictEqual(yield* jobs.queueDepth(), { queued: 1, processing: 0 })
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("jobs: ordered claiming", () => {
    const upsert = (workspace: string, email: string) =>
      acceptBatch({ workspace, object: "profiles", matchKey: "email", records: [{ email }] })

    it.effect(
      "a later job of an object waits while an earlier one is processing; other objects and workspaces do not",
      () =>
        Effect.gen(function* () {
          const jobs = yield* JobsRepo
          const processor = yield* JobProcessor
          const first = yield* upsert("w1", "a@x.io")
          const second = yield* upsert("w1", "b@x.io")
          // An append to an object with match keys is ordered too.
          const third = yield* acceptBatch({ workspace: "w1", object: "profiles", records: [{ email: "c@x.io" }] })
          const otherWorkspace = yield* upsert("w2", "a@x.io")
          const otherObject = yield* acceptBatch({ workspace: "w1", object: "events", records: [event(1)] })
          const waiting = (jobIds: ReadonlyArray<string>) => Effect.forEach(jobIds, (jobId) => jobs.waitsBehind(jobId))
          const accepted = [first, second, third, otherWorkspace, otherObject].map((job) => job.jobId)
          assert.deepStrictEqual(yield* waiting(accepted), [false, true, true, false, false])

          const claimedFirst = Option.getOrThrow(yield* jobs.claimNext())
          assert.strictEqual(claimedFirst.jobId, first.jobId)
          const claimedOthers = [Option.getOrThrow(yield* jobs.claimNext()), Option.getOrThrow(yield* jobs.claimNext())]
          assert.sameMembers(
            claimedOthers.map((job) => job.jobId),
            [otherWorkspace.jobId, otherObject.jobId]
          )
          // The second upsert waits for the first, which is still processing.
          assert.isTrue(Option.isNone(yield* jobs.claimNext()))
          assert.deepStrictEqual(yield* waiting(accepted), [false, true, true, false, false])
          yield* processor.process(claimedFirst)
          assert.deepStrictEqual(yield* waiting(accepted), [false, false, true, false, false])
          const claimedSecond = Option.getOrThrow(yield* jobs.claimNext())
          assert.strictEqual(claimedSecond.jobId, second.jobId)
          assert.isTrue(Option.isNone(yield* jobs.claimNext()))
          yield* processor.process(claimedSecond)
          assert.strictEqual(Option.getOrThrow(yield* jobs.claimNext()).jobId, third.jobId)
          assert.deepStrictEqual(yield* jobs.queueDepth(), { queued: 0, processing: 3 })
        }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a failed earlier job does not block the later ones", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const first = yield* upsert("w", "a@x.io")
        const second = yield* upsert("w", "b@x.io")
        const claimed = Option.getOrThrow(yield* jobs.claimNext())
        assert.strictEqual(claimed.jobId, first.jobId)
        yield* jobs.fail(claimed, { code: ErrorCode.JobFailed, message: "test" }, new Date())
        assert.strictEqual(Option.getOrThrow(yield* jobs.claimNext()).jobId, second.jobId)
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("jobs: crash safety", () => {
    it.effect(
      "an interrupted job leaves no rows and is queued again; requeueing every processing job recovers a crash",
      () =>
        Effect.gen(function* () {
          const jobs = yield* JobsRepo
          const processor = yield* JobProcessor
          const records = Array.from({ length: 2_000 }, (_, i) =>
            i % 100 === 7 ? { email: "not an address" } : { email: `p${i}@x.io`, tier: "gold" }
          )
          const { jobId } = yield* acceptBatch({ workspace: "w", object: "profiles", matchKey: "email", records })

          // Interrupt the worker after more and more steps (a step lets it run at most 10 Effect operations): whatever
          // the point, nothing is half-applied and the job is queued again, until it gets to complete.
          let steps = 1
          let interruptions = 0
          while (true) {
            const worker = Effect.zipRight(Effect.yieldNow(), processor.processNext)
            const fiber = yield* Effect.fork(Effect.withMaxOpsBeforeYield(worker, 10))
            for (let i = 0; i < steps; i++) yield* Effect.yieldNow()
            yield* Fiber.interrupt(fiber)
            const job = Option.getOrThrow(yield* jobs.get("w", "profiles", jobId))
            if (job.state === "completed") break
            interruptions++
            assert.strictEqual(job.state, "queued")
            assert.strictEqual(job.startedAt, null)
            assert.strictEqual(yield* countStoredRows, 0)
            assert.strictEqual(yield* countKeyValues, 0)
            assert.strictEqual(yield* countRows("row_errors"), 0)
            steps = Math.ceil(steps * 1.15)
          }
          assert.isAbove(interruptions, 10)

          const done = Option.getOrThrow(yield* jobs.get("w", "profiles", jobId))
          assert.strictEqual(done.state, "completed")
          // Interruptions by shutdown are not counted against the job's attempts.
          assert.strictEqual(yield* Effect.map(countAttempts(jobId), (attempts) => attempts), 1)
          assert.strictEqual(done.metrics.insertedRows, 1_980)
          assert.strictEqual(done.metrics.invalidRows, 20)
          assert.strictEqual(yield* countStoredRows, 1_980)
          assert.strictEqual(yield* countKeyValues, 1_980)
          assert.strictEqual(yield* countRows("row_errors"), 20)
        }).pipe(Effect.provide(TestStorage))
    )

    it.effect("after a crash mid-job, requeueing queues the job again and it applies exactly once", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const records = [{ email: "a@x.io", tier: "gold" }]
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "profiles", matchKey: "email", records })
        const later = yield* acceptBatch({ workspace: "w", object: "profiles", matchKey: "email", records })
        // The process died after the claim: the job stays processing and blocks the later job of its object.
        Option.getOrThrow(yield* jobs.claimNext())
        assert.isTrue(Option.isNone(yield* jobs.claimNext()))
        assert.strictEqual(yield* requeueProcessing, 1)
        assert.strictEqual(yield* requeueProcessing, 0)
        const results = yield* processAll
        assert.deepStrictEqual(
          results.map((result) => result.jobId),
          [jobId, later.jobId]
        )
        const first = Option.getOrThrow(yield* jobs.get("w", "profiles", jobId))
        const second = Option.getOrThrow(yield* jobs.get("w", "profiles", later.jobId))
        assert.strictEqual(first.metrics.insertedRows, 1)
        assert.strictEqual(second.metrics.updatedRows, 1)
        assert.strictEqual(yield* countStoredRows, 1)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a job claimed again and again without completing fails instead of looping", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const processor = yield* JobProcessor
        const { jobId } = yield* acceptBatch({ workspace: "w", object: "events", records: [event(1)] })
        for (let i = 0; i < 10; i++) {
          Option.getOrThrow(yield* jobs.claimNext())
          yield* requeueProcessing
        }
        const claimed = Option.getOrThrow(yield* jobs.claimNext())
        assert.strictEqual(claimed.attempts, 11)
        const result = yield* processor.process(claimed)
        assert.strictEqual(result.state, "failed")
        const job = Option.getOrThrow(yield* jobs.get("w", "events", jobId))
        assert.strictEqual(job.failure?.code, ErrorCode.JobFailed)
        assert.strictEqual(yield* countStoredRows, 0)
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("a body that cannot be read fails the job; processing never applies part of it", () =>
      Effect.gen(function* () {
        const jobs = yield* JobsRepo
        const input = {
          jobId: "rjob_01JD00000000000000000000ZZ",
          workspace: "w",
          objectName: "events",
          plan: Job.planBatch("append-batch", [], null),
          body: '{"records": [',
          acceptedRecords: 1,
          createdAt: new Date()
        }
        yield* jobs.queue(input, Effect.void)
        const results = yield* processAll
        assert.deepStrictEqual(
          results.map(({ jobId, state }) => ({ jobId, state })),
          [{ jobId: "rjob_01JD00000000000000000000ZZ", state: "failed" }]
        )
      }).pipe(Effect.provide(TestStorage))
    )
  })

  describe("objects", () => {
    it.effect("defaults, put, replace, conflicts", () =>
      Effect.gen(function* () {
        const objects = yield* ObjectsRepo
        const names = (yield* objects.list("w")).map((definition) => definition.name)
        assert.deepStrictEqual(names, ["events", "profiles"])
        assert.deepStrictEqual(Option.getOrThrow(yield* objects.get("w", "profiles")), ObjectSchema.profilesObject)
        assert.isTrue(Option.isNone(yield* objects.get("w", "orders")))

        const orders: ObjectSchema.ObjectDefinition = {
          name: "orders",
          fields: { order_id: { type: "string", required: true }, total: { type: "number" } },
          matchKeys: ["order_id"]
        }
        const created = yield* putObject("w", orders)
        assert.isTrue(created.created)
        assert.deepStrictEqual(Option.getOrThrow(yield* objects.get("w", "orders")), orders)
        assert.deepStrictEqual(
          (yield* objects.list("w")).map((definition) => definition.name),
          ["events", "orders", "profiles"]
        )
        // Other workspaces do not see it.
        assert.isTrue(Option.isNone(yield* objects.get("w2", "orders")))
        assert.deepStrictEqual(
          (yield* objects.list("w2")).map((definition) => definition.name),
          ["events", "profiles"]
        )

        const replaced = yield* putObject("w", {
          ...orders,
          fields: { ...orders.fields, note: { type: "string" } }
        })
        assert.isFalse(replaced.created)
        assert.property(Option.getOrThrow(yield* objects.get("w", "orders")).fields, "note")

        const conflict = yield* Effect.flip(
          putObject("w", { ...orders, fields: { order_id: { type: "integer" }, total: { type: "string" } } })
        )
        assert.strictEqual(conflict._tag, "ObjectConflict")
        assert.deepStrictEqual(conflict.conflicts, [
          { field: "order_id", previousType: "string", nextType: "integer" },
          { field: "total", previousType: "number", nextType: "string" }
        ])
        // The conflicting put changed nothing.
        assert.property(Option.getOrThrow(yield* objects.get("w", "orders")).fields, "note")

        // Replacing a default: not created, type changes of its fields conflict, the replacement is listed once.
        const conflictDefault = yield* Effect.flip(
          putObject("w", { ...ObjectSchema.eventsObject, fields: { event: { type: "integer" } } })
        )
        assert.strictEqual(conflictDefault.conflicts[0]?.field, "event")
        const events = yield* putObject("w", {
          ...ObjectSchema.eventsObject,
          fields: { ...ObjectSchema.eventsObject.fields, page: { type: "string" } }
        })
        assert.isFalse(events.created)
        const listed = yield* objects.list("w")
        assert.strictEqual(listed.filter((definition) => definition.name === "events").length, 1)
        assert.property(listed.find((definition) => definition.name === "events")!.fields, "page")
      }).pipe(Effect.provide(TestStorage))
    )

    it.effect("adding a match key indexes the stored values; removing one forgets them", () =>
      Effect.gen(function* () {
        const records = yield* RecordsRepo
        const things: ObjectSchema.ObjectDefinition = {
          name: "things",
          fields: { code: { type: "string" }, n: { type: "integer" } },
          matchKeys: []
        }
        yield* putObject("w", things)
        yield* runBatch({
          workspace: "w",
          object: "things",
          records: [{ code: "a", n: 1 }, { code: "b" }, { code: "a" }]
        })
        yield* putObject("w", { ...things, matchKeys: ["code"] })
        const byCode = yield* records.list("w", "things", {
          limit: 10,
          cursor: undefined,
          filter: Option.some({ field: "code", value: "a" })
        })
        // Two stored rows share "a": the oldest holds the key.
        assert.deepStrictEqual(
          byCode.records.map((record) => [record._id, record.n]),
          [["1", 1]]
        )
        const job = yield* runBatch({
          workspace: "w",
          object: "things",
          matchKey: "code",
          records: [{ code: "b", n: 2 }]
        })
        assert.strictEqual(job.metrics.updatedRows, 1)
        yield* putObject("w", things)
        assert.strictEqual(yield* countKeyValues, 0)
      }).pipe(Effect.provide(TestStorage))
    )
  })
})
