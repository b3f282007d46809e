/**
 * SPEC §1.4 over real HTTP: field-level merge (explicit `null` sets null, absent fields are kept), last write wins
 * in array order within a batch and in acceptance order (`sequence`) across batches processed by several workers,
 * a record without the match key is a row error, and the `orderBy` event-time guard counts stale rows.
 */
import { preferWait } from "@batchwrite/api"
import { ErrorCode, type Job } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  /** A small deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
  const random = (seed: number) => {
    let state = seed >>> 0
    return () => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
    }
  }

  layer(TestService.layer({ adapter, workers: 2 }), { excludeTestServices: true })("upserts (SPEC §1.4)", (it) => {
    it.effect("merge is field by field: present fields overwrite, an explicit null sets null, absent fields stay", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const first = yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: {
            records: [
              { email: "Ada@Example.com", first_name: "Ada", tier: "gold", attributes: { plan: { seats: 3 } } }
            ],
            matchKey: "email"
          }
        })
        assert.strictEqual((first.data as Job.Job).metrics.insertedRows, 1)
        const [stored] = yield* TestService.allRecords(api.alpha, "profiles", { email: "ada@example.com" })
        const second = yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: { records: [{ email: "ada@example.com", tier: null, last_name: "Lovelace" }], matchKey: "email" }
        })
        assert.deepStrictEqual((second.data as Job.Job).metrics, {
          totalRows: 1,
          processedRows: 1,
          insertedRows: 0,
          updatedRows: 1,
          staleRows: 0,
          invalidRows: 0
        })
        const rows = yield* TestService.allRecords(api.alpha, "profiles", { email: "ada@example.com" })
        assert.strictEqual(rows.length, 1)
        assert.deepStrictEqual(TestService.fieldsOf(rows[0]!), {
          email: "ada@example.com",
          first_name: "Ada",
          last_name: "Lovelace",
          tier: null,
          attributes: { plan: { seats: 3 } }
        })
        // The same row: its id and creation time are kept.
        assert.strictEqual(rows[0]!._id, stored!._id)
        assert.strictEqual(rows[0]!._createdAt, stored!._createdAt)
        assert.isTrue(Date.parse(rows[0]!._updatedAt as string) >= Date.parse(stored!._updatedAt as string))
        // A json value is replaced as a whole, not merged.
        yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: { records: [{ email: "ada@example.com", attributes: { vip: true } }], matchKey: "email" }
        })
        const [replaced] = yield* TestService.allRecords(api.alpha, "profiles", { email: "ada@example.com" })
        assert.deepStrictEqual(replaced!.attributes, { vip: true })
      })
    )

    it.effect("inside a batch, records apply in array order: a later duplicate merges over an earlier one", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const answer = yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: {
            records: [
              { email: "bob@example.com", first_name: "B1", tier: "t1" },
              { email: "BOB@example.com", first_name: "B2" },
              { email: "bob@example.com", tier: "t3", last_name: "L" },
              { email: "carol@example.com", first_name: "C" }
            ],
            matchKey: "email"
          }
        })
        const job = answer.data as Job.Job
        assert.strictEqual(job.metrics.insertedRows, 2)
        assert.strictEqual(job.metrics.updatedRows, 2)
        const [bob] = yield* TestService.allRecords(api.alpha, "profiles", { email: "bob@example.com" })
        assert.deepStrictEqual(TestService.fieldsOf(bob!), {
          email: "bob@example.com",
          first_name: "B2",
          tier: "t3",
          last_name: "L"
        })
      })
    )

    it.effect("a record without a value for the match key is a row error; the others commit", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const answer = yield* api.alpha.records.upsertBatch({
          path: { object: "profiles" },
          headers: { prefer: preferWait(10) },
          payload: {
            records: [
              { email: "nokey@example.com", first_name: "no key" },
              { email: "haskey@example.com", external_id: "X-1" },
              { email: "nullkey@example.com", external_id: null }
            ],
            matchKey: "external_id"
          }
        })
        const job = answer.data as Job.Job
        assert.strictEqual(job.state, "completed")
        assert.strictEqual(job.metrics.insertedRows, 1)
        assert.strictEqual(job.metrics.invalidRows, 2)
        assert.deepStrictEqual(
          job.errors.map((error) => [error.index, error.field, error.code]),
          [
            [0, "external_id", ErrorCode.RequestInvalid],
            [2, "external_id", ErrorCode.RequestInvalid]
          ]
        )
        const rows = yield* TestService.allRecords(api.alpha, "profiles", { external_id: "X-1" })
        assert.deepStrictEqual(rows.map(TestService.fieldsOf), [{ email: "haskey@example.com", external_id: "X-1" }])
      })
    )

    it.effect(
      "a match-key value too long to index is that row's error; the job completes and the object's next jobs run",
      () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          // ~3,000 characters that do not compress: over PostgreSQL's b-tree entry limit (issue 15, case 1).
          const next = random(15)
          const long = Array.from({ length: 3_000 }, () => String.fromCharCode(0x21 + Math.floor(next() * 90))).join("")
          const answer = yield* api.alpha.records.upsertBatch({
            path: { object: "accounts" },
            headers: { prefer: preferWait(10) },
            payload: {
              records: [{ account_id: "short-1" }, { account_id: long }, { account_id: "short-2" }],
              matchKey: "account_id"
            }
          })
          const job = answer.data as Job.Job
          assert.strictEqual(job.state, "completed", JSON.stringify(job.failure))
          assert.strictEqual(job.metrics.insertedRows, 2)
          assert.deepStrictEqual(
            job.errors.map((error) => [error.index, error.pointer, error.code]),
            [[1, "/records/1/account_id", ErrorCode.RequestInvalid]]
          )
          assert.match(job.errors[0]!.message, /match key are indexed/)
          const later = yield* api.alpha.records.upsertBatch({
            path: { object: "accounts" },
            headers: { prefer: preferWait(10) },
            payload: { records: [{ account_id: "short-3" }], matchKey: "account_id" }
          })
          assert.strictEqual((later.data as Job.Job).state, "completed")
        })
    )

    it.effect("a request sent after another's 202 gets a larger sequence", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const sequences: Array<number> = []
        for (let i = 0; i < 6; i++) {
          const accepted =
            i % 2 === 0
              ? yield* api.alpha.records.upsertBatch({
                  path: { object: "counters" },
                  headers: {},
                  payload: { records: [{ key: "seq", a: i }], matchKey: "key" }
                })
              : yield* api.alpha.records.appendBatch({
                  path: { object: "events" },
                  headers: {},
                  payload: { records: [{ event: "e", occurred_at: "2026-04-21T15:00:00Z" }] }
                })
          sequences.push(yield* TestService.sequenceOf(api.alpha, accepted.data.objectName, accepted.data.jobId))
        }
        for (let i = 1; i < sequences.length; i++) assert.isAbove(sequences[i]!, sequences[i - 1]!, sequences.join(","))
      })
    )

    it.effect(
      "across batches sent at once to two workers, the stored state equals every valid record applied in sequence order",
      () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const next = random(20_260_421)
          const pick = <A>(values: ReadonlyArray<A>): A => values[Math.floor(next() * values.length)]!
          const keys = ["ord-0", "ord-1", "ord-2", "ord-3", "ord-4"]
          const batches = Array.from({ length: 40 }, (_, batch) =>
            Array.from({ length: 1 + Math.floor(next() * 6) }, (_, index) => {
              const record: Record<string, unknown> = { key: pick(keys), writer: `b${batch}r${index}` }
              for (const field of ["a", "b", "c"]) {
                const roll = next()
                if (roll < 0.15) record[field] = null
                else if (roll < 0.6) record[field] = Math.floor(next() * 1_000)
              }
              // Now and then an invalid record (not an integer): a row error, never applied.
              if (next() < 0.1) record.a = "not a number"
              return record
            })
          )
          const accepted = yield* Effect.forEach(
            batches,
            (records) =>
              api.alpha.records.upsertBatch({
                path: { object: "counters" },
                headers: {},
                payload: { records, matchKey: "key" }
              }),
            { concurrency: 8 }
          )
          const jobs = yield* Effect.forEach(accepted, (answer) =>
            TestService.awaitJob(api.alpha, "counters", answer.data.jobId)
          )
          assert.strictEqual(new Set(jobs.map((job) => job.sequence)).size, jobs.length, "sequences are unique")

          const expected = new Map<string, Record<string, unknown>>()
          let invalid = 0
          const order = jobs
            .map((job, i) => ({ job, records: batches[i]! }))
            .sort((x, y) => x.job.sequence - y.job.sequence)
          for (const { job, records } of order) {
            assert.strictEqual(job.state, "completed")
            const rejected = new Set(job.errors.map((error) => error.index))
            records.forEach((record, index) => {
              const valid = typeof record.a !== "string"
              assert.strictEqual(rejected.has(index), !valid, `job ${job.sequence} record ${index}`)
              if (!valid) {
                invalid++
                return
              }
              const key = record.key as string
              expected.set(key, { ...expected.get(key), ...record })
            })
          }
          assert.strictEqual(
            jobs.reduce((sum, job) => sum + job.metrics.invalidRows, 0),
            invalid
          )
          const rows = (yield* TestService.allRecords(api.alpha, "counters"))
            .map(TestService.fieldsOf)
            .filter((row) => (row.key as string).startsWith("ord-"))
          assert.deepStrictEqual(
            Object.fromEntries(rows.map((row) => [row.key as string, row])),
            Object.fromEntries(expected)
          )
        })
    )

    it.effect("with orderBy, a record older than the stored row is not applied and counts in staleRows", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const upsert = (records: ReadonlyArray<Record<string, unknown>>) =>
          Effect.map(
            api.alpha.records.upsertBatch({
              path: { object: "accounts" },
              headers: { prefer: preferWait(10) },
              payload: { records, matchKey: "account_id" }
            }),
            (answer) => answer.data as Job.Job
          )
        const stored = (id: string) =>
          Effect.map(TestService.allRecords(api.alpha, "accounts", { account_id: id }), (rows) =>
            TestService.fieldsOf(rows[0]!)
          )

        yield* upsert([{ account_id: "acc-1", plan: "new", updated_at: "2026-04-21T15:00:00Z" }])
        // 16:30+02:00 is 14:30Z: older, although its text sorts after "15:00:00Z".
        const older = yield* upsert([{ account_id: "acc-1", plan: "old", updated_at: "2026-04-21T16:30:00+02:00" }])
        assert.strictEqual(older.metrics.staleRows, 1)
        assert.strictEqual(older.metrics.updatedRows, 0)
        assert.deepStrictEqual(yield* stored("acc-1"), {
          account_id: "acc-1",
          plan: "new",
          updated_at: "2026-04-21T15:00:00Z"
        })
        const newer = yield* upsert([
          { account_id: "acc-1", plan: "newer", seats: 4, updated_at: "2026-04-21T17:30:00+02:00" }
        ])
        assert.strictEqual(newer.metrics.updatedRows, 1)
        assert.strictEqual(newer.metrics.staleRows, 0)
        assert.deepStrictEqual(yield* stored("acc-1"), {
          account_id: "acc-1",
          plan: "newer",
          seats: 4,
          updated_at: "2026-04-21T17:30:00+02:00"
        })

        // Inside one batch too: the later, older record is stale.
        const inBatch = yield* upsert([
          { account_id: "acc-2", plan: "B", updated_at: "2026-04-21T12:00:00Z" },
          { account_id: "acc-2", plan: "A", updated_at: "2026-04-21T11:00:00Z" },
          { account_id: "acc-3", plan: "C", updated_at: "2026-04-21T11:00:00Z" }
        ])
        assert.deepStrictEqual(inBatch.metrics, {
          totalRows: 3,
          processedRows: 3,
          insertedRows: 2,
          updatedRows: 0,
          staleRows: 1,
          invalidRows: 0
        })
        assert.strictEqual((yield* stored("acc-2")).plan, "B")
      })
    )
  })
})
