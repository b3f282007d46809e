/**
 * SPEC §1.5–§1.6 over real HTTP: the 202 and its `Location`, the job's states, metrics and row errors, the pages of
 * all its row errors with the rejected records, and `Prefer: wait=N` on the POST and on the job GET.
 */
import { preferWait, ResponseHeaders } from "@batchwrite/api"
import { ErrorCode, type Job } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  const event = (i: number) => ({ event: `e${i}`, occurred_at: "2026-04-21T15:00:00Z", user_id: `u${i}` })

  /** A bare datetime (no zone): a row error on `occurred_at`. */
  const badEvent = (i: number) => ({ event: `bad${i}`, occurred_at: "2026-04-21T15:00:00" })

  /** A job as read at some moment agrees with its state (SPEC §1.6). */
  const assertConsistent = (job: Job.Job) => {
    switch (job.state) {
      case "queued":
        assert.isNull(job.startedAt)
        assert.isNull(job.completedAt)
        assert.strictEqual(job.metrics.processedRows, 0)
        break
      case "processing":
        assert.isString(job.startedAt)
        assert.isNull(job.completedAt)
        break
      case "completed":
        assert.isString(job.startedAt)
        assert.isString(job.completedAt)
        assert.strictEqual(job.metrics.processedRows, job.metrics.totalRows)
        assert.isFalse("failure" in job)
        break
      case "failed":
        assert.isString(job.completedAt)
        assert.isDefined(job.failure)
    }
  }

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("jobs (SPEC §1.6)", (it) => {
    it.effect("a batch is answered 202 queued with Location and statusPath pointing at its job", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const [accepted, response] = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records: [event(1), event(2)] },
          withResponse: true
        })
        assert.strictEqual(response.status, 202)
        const data = accepted.data as Job.AcceptedBatch
        assert.match(data.jobId, /^rjob_[0-9A-HJKMNP-TV-Z]{26}$/)
        assert.deepStrictEqual(data, {
          operation: "append-batch",
          objectName: "events",
          jobId: data.jobId,
          state: "queued",
          acceptedRecords: 2,
          statusPath: `/records/events/jobs/${data.jobId}`
        })
        const location = response.headers[ResponseHeaders.location]
        assert.strictEqual(location, `/public/v1/records/events/jobs/${data.jobId}`)
        // Location is usable as is against the origin.
        const job = yield* TestService.rawGet(location!, { token: TestService.tokens.alpha })
        assert.strictEqual(job.status, 200)
        const read = TestService.dataOf<Job.Job>(job)
        assert.strictEqual(read.jobId, data.jobId)
        assertConsistent(read)
      })
    )

    it.effect("a job read right after its 202 is in a state consistent with its timestamps and metrics", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const accepted = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) =>
            api.alpha.records.upsertBatch({
              path: { object: "counters" },
              headers: {},
              payload: { records: Array.from({ length: 200 }, (_, k) => ({ key: `s${k}`, a: i })), matchKey: "key" }
            }),
          { concurrency: "unbounded" }
        )
        const snapshots = yield* Effect.forEach(
          accepted,
          (batch) => api.alpha.jobs.getJob({ path: { object: "counters", jobId: batch.data.jobId }, headers: {} }),
          { concurrency: "unbounded" }
        )
        for (const snapshot of snapshots) assertConsistent(snapshot.data)
        for (const batch of accepted) {
          const job = yield* TestService.awaitJob(api.alpha, "counters", batch.data.jobId)
          assert.strictEqual(job.state, "completed")
          assertConsistent(job)
        }
      })
    )

    it.effect("a job completes with its metrics and its row errors inline (valid rows committed)", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.objects.putObject({
          path: { name: "job_events" },
          payload: {
            fields: {
              event: { type: "string", required: true },
              occurred_at: { type: "datetime", required: true }
            },
            matchKeys: []
          }
        })
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "job_events" },
          headers: {},
          payload: {
            records: [event(0), event(1), badEvent(2)].map(({ event, occurred_at }) => ({ event, occurred_at }))
          }
        })
        const job = yield* TestService.awaitJob(api.alpha, "job_events", accepted.data.jobId)
        assert.strictEqual(job.jobId, accepted.data.jobId)
        assert.strictEqual(job.operation, "append-batch")
        assert.strictEqual(job.objectName, "job_events")
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.acceptedRecords, 3)
        assert.isTrue(Number.isInteger(job.sequence) && job.sequence > 0)
        assert.deepStrictEqual(job.metrics, {
          totalRows: 3,
          processedRows: 3,
          insertedRows: 2,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 1
        })
        assert.strictEqual(job.errors.length, 1)
        const [error] = job.errors
        assert.strictEqual(error!.index, 2)
        assert.strictEqual(error!.code, ErrorCode.RequestInvalid)
        assert.strictEqual(error!.field, "occurred_at")
        assert.strictEqual(error!.pointer, "/records/2/occurred_at")
        assert.isString(error!.message)
        assert.strictEqual(job.errorsPath, `/records/job_events/jobs/${job.jobId}/errors`)
        const created = Date.parse(job.createdAt)
        const started = Date.parse(job.startedAt!)
        const completed = Date.parse(job.completedAt!)
        assert.isTrue(
          created <= started && started <= completed,
          `${job.createdAt} ${job.startedAt} ${job.completedAt}`
        )
        const rows = yield* TestService.allRecords(api.alpha, "job_events")
        assert.deepStrictEqual(rows.map(TestService.fieldsOf), [
          { event: "e0", occurred_at: "2026-04-21T15:00:00Z" },
          { event: "e1", occurred_at: "2026-04-21T15:00:00Z" }
        ])
      })
    )

    it.effect("a job whose every row is invalid is still completed, with invalidRows = totalRows", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const records = [badEvent(0), { occurred_at: "2026-04-21T15:00:00Z" }, { event: "x", occurred_at: null }]
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records }
        })
        const job = yield* TestService.awaitJob(api.alpha, "events", accepted.data.jobId)
        assert.strictEqual(job.state, "completed")
        assert.deepStrictEqual(job.metrics, {
          totalRows: 3,
          processedRows: 3,
          insertedRows: 0,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 3
        })
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.field]),
          [
            [0, "occurred_at"],
            [1, "event"],
            [2, "occurred_at"]
          ]
        )
      })
    )

    it.effect("errors holds the first 100 row errors; …/errors pages through all, each with its rejected record", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        // 250 records; the 125 at even indexes are invalid, and record 0 has two problems: 126 row errors.
        const records: Array<Record<string, unknown>> = Array.from({ length: 250 }, (_, i) =>
          i % 2 === 0 ? badEvent(i) : event(i)
        )
        records[0] = { occurred_at: "yesterday", session_id: "s0" }
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records }
        })
        const job = yield* TestService.awaitJob(api.alpha, "events", accepted.data.jobId)
        assert.strictEqual(job.metrics.invalidRows, 125)
        assert.strictEqual(job.metrics.insertedRows, 125)
        assert.strictEqual(job.errors.length, 100)

        const pages: Array<Job.JobErrorsPage> = []
        let cursor: string | null = null
        do {
          const page: { readonly data: Job.JobErrorsPage } = yield* api.alpha.jobs.listJobErrors({
            path: { object: "events", jobId: job.jobId },
            urlParams: { limit: 50, ...(cursor === null ? {} : { cursor }) }
          })
          pages.push(page.data)
          cursor = page.data.nextCursor
        } while (cursor !== null && pages.length < 10)
        assert.deepStrictEqual(
          pages.map((page) => page.errors.length),
          [50, 50, 26]
        )
        const all = pages.flatMap((page) => page.errors)
        // Every row error once, in record order; each carries the record as it was sent.
        assert.deepStrictEqual(
          all.map((error) => error.index),
          [0, ...Array.from({ length: 125 }, (_, k) => 2 * k)]
        )
        for (const error of all) assert.deepStrictEqual(error.record, records[error.index], `record ${error.index}`)
        assert.deepStrictEqual(
          all
            .filter((error) => error.index === 0)
            .map((error) => error.field)
            .sort(),
          ["event", "occurred_at"]
        )
        // The inline errors are the first 100 of the same list.
        assert.deepStrictEqual(
          job.errors,
          all.slice(0, 100).map(({ record: _, ...error }) => error)
        )
        // A cursor this service did not hand out is a 400.
        const badCursor = yield* Effect.flip(
          api.alpha.jobs.listJobErrors({
            path: { object: "events", jobId: job.jobId },
            urlParams: { cursor: "not-a-cursor" }
          })
        )
        assert.strictEqual(badCursor._tag, "RequestInvalid")
      })
    )

    it.effect("Prefer: wait=N on the POST answers 200 with the finished job, every row error, Preference-Applied", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        // 150 invalid rows: more than the 100 a job GET carries inline.
        const records = [...Array.from({ length: 150 }, (_, i) => badEvent(i)), event(150)]
        const [answer, response] = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: { prefer: preferWait(10) },
          payload: { records },
          withResponse: true
        })
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers[ResponseHeaders.preferenceApplied], "wait=10")
        const job = answer.data as Job.Job
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.metrics.invalidRows, 150)
        assert.strictEqual(job.metrics.insertedRows, 1)
        // SPEC §1.5: "200 with the job exactly as §1.6 returns it, with every row error inline".
        assert.strictEqual(job.errors.length, 150)
      })
    )

    it.effect("Prefer: wait=N on the POST with no error answers 200 with the job as the job GET returns it", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const [answer, response] = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: { prefer: preferWait(5) },
          payload: { records: [event(1)] },
          withResponse: true
        })
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers[ResponseHeaders.preferenceApplied], "wait=5")
        assert.isUndefined(response.headers[ResponseHeaders.location])
        const job = answer.data as Job.Job
        const read = yield* api.alpha.jobs.getJob({ path: { object: "events", jobId: job.jobId }, headers: {} })
        assert.deepStrictEqual(read.data, job)
      })
    )

    it.effect("Prefer: wait=N on the job GET answers the job once terminal", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records: Array.from({ length: 2_000 }, (_, i) => event(i)) }
        })
        const read = yield* api.alpha.jobs.getJob({
          path: { object: "events", jobId: accepted.data.jobId },
          headers: { prefer: preferWait(10) }
        })
        assert.strictEqual(read.data.state, "completed")
        assert.strictEqual(read.data.metrics.insertedRows, 2_000)
      })
    )

    it.effect("an unknown job id, or a job read under another object, is 404 NOT_FOUND.JOB", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: {},
          payload: { records: [event(1)] }
        })
        const otherObject = yield* Effect.flip(
          api.alpha.jobs.getJob({ path: { object: "profiles", jobId: accepted.data.jobId }, headers: {} })
        )
        assert.strictEqual(otherObject._tag, "JobNotFound")
        const unknown = yield* Effect.flip(
          api.alpha.jobs.getJob({ path: { object: "events", jobId: "rjob_01JD0000000000000000000000" }, headers: {} })
        )
        assert.strictEqual(unknown._tag, "JobNotFound")
        const errors = yield* Effect.flip(
          api.alpha.jobs.listJobErrors({
            path: { object: "events", jobId: "rjob_01JD0000000000000000000000" },
            urlParams: {}
          })
        )
        assert.strictEqual(errors._tag, "JobNotFound")
      })
    )
  })
})
