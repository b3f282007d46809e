/**
 * A batch prepared off the HTTP thread is kept for its job serialized (`BatchRecords.SerializedBatch`), checked
 * against the object's schema at acceptance. Its job writes those texts only under that same schema; after a schema
 * change it is checked again, from its stored body, as the job of a batch kept parsed is.
 */
import { assert, layer } from "@effect/vitest"
import type { ObjectSchema } from "@batchwrite/core"
import { Effect, Option } from "effect"
import { AcceptedRecords } from "../../src/jobs/AcceptedRecords.js"
import { serializeAppend } from "../../src/jobs/BatchRecords.js"
import { JobsRepo } from "../../src/storage/JobsRepo.js"
import { acceptBatch, forEachAdapter, processAll, putObject, storageOn, storedRows } from "./TestStorage.js"

const notes = (fields: ObjectSchema.ObjectDefinition["fields"]): ObjectSchema.ObjectDefinition => ({
  name: "notes",
  fields,
  matchKeys: []
})

const withNumber = notes({ text: { type: "string", required: true }, n: { type: "integer" } })
const textOnly = notes({ text: { type: "string", required: true } })

/** Queues `records` as an append of `notes`, keeping `kept` serialized as checked against `withNumber`; answers the job. */
const queueSerialized = (workspace: string, records: ReadonlyArray<unknown>, kept: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const { jobId } = yield* acceptBatch({ workspace, object: "notes", records })
    yield* (yield* AcceptedRecords).keep(jobId, serializeAppend(withNumber, kept), 100)
    return jobId
  })

const jobOf = (workspace: string, jobId: string) =>
  Effect.map(
    Effect.flatMap(JobsRepo, (jobs) => jobs.get(workspace, "notes", jobId, { errorsLimit: Infinity })),
    Option.getOrThrow
  )

forEachAdapter((adapter) => {
  layer(storageOn(adapter))("batches kept serialized", (it) => {
    it.effect("under the schema they were checked against, the job writes the kept texts", () =>
      Effect.gen(function* () {
        yield* putObject("w1", withNumber)
        // What was kept is what the job writes: here, on purpose, not what the body holds.
        const jobId = yield* queueSerialized("w1", [{ text: "in the body" }], [{ text: "kept", n: 1 }, { n: "x" }])
        yield* processAll
        const job = yield* jobOf("w1", jobId)
        assert.deepStrictEqual(job.metrics, {
          totalRows: 2,
          processedRows: 2,
          insertedRows: 1,
          updatedRows: 0,
          staleRows: 0,
          invalidRows: 1
        })
        assert.deepStrictEqual(
          (yield* storedRows("w1", "notes")).map(({ _id, ...fields }) => fields),
          [{ text: "kept", n: 1 }]
        )
      })
    )

    it.effect("after a schema change, the job checks its stored body against the schema as it is now", () =>
      Effect.gen(function* () {
        yield* putObject("w2", withNumber)
        const records = [{ text: "a", n: 1 }, { text: "b" }]
        const jobId = yield* queueSerialized("w2", records, records)
        yield* putObject("w2", textOnly)
        yield* processAll
        const job = yield* jobOf("w2", jobId)
        // `n` is no field of the object any more: the first record is rejected, as a removed field is.
        assert.strictEqual(job.metrics.insertedRows, 1)
        assert.strictEqual(job.metrics.invalidRows, 1)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.field]),
          [[0, "n"]]
        )
        assert.deepStrictEqual(
          (yield* storedRows("w2", "notes")).map(({ _id, ...fields }) => fields),
          [{ text: "b" }]
        )
      })
    )
  })
})
