/**
 * Appends prepared off the HTTP thread (`services/AppendPreparation.ts`) have exactly the outcome of appends
 * prepared on it: over real HTTP, the same random bodies go to a service that prepares every append to `events` on
 * a thread (no size threshold) and to one that prepares none, and everything a client can see must match: the
 * answer (status, and the error of a refused batch), the job's metrics, its row errors with their rejected records,
 * and the stored rows.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, FastCheck as fc, Layer } from "effect"
import * as TestService from "../support/TestService.js"

const Threaded = Context.GenericTag<TestService.TestServiceShape>("test/Threaded")
const OnHttpThread = Context.GenericTag<TestService.TestServiceShape>("test/OnHttpThread")

const serviceAs = (
  tag: Context.Tag<TestService.TestServiceShape, TestService.TestServiceShape>,
  threads: number,
  adapter: TestService.Adapter
) =>
  Layer.map(TestService.layer({ adapter, appendPreparation: { threads, minBodyBytes: 1 } }), (context) =>
    Context.make(tag, Context.get(context, TestService.TestService))
  )

const token = TestService.tokens.alpha

/** A record of `events` as JSON text: valid, invalid in one of several ways, or not an object. */
const recordText = fc.oneof(
  fc
    .record(
      {
        event: fc.string({ maxLength: 12 }),
        occurred_at: fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
        user_id: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)),
        properties: fc.jsonValue({ maxDepth: 2 })
      },
      { requiredKeys: ["event"] }
    )
    .map((record) => JSON.stringify({ ...record, occurred_at: record.occurred_at?.toISOString() })),
  fc.constantFrom(
    '{"event":"no time"}',
    '{"event":7,"occurred_at":"2026-01-01T00:00:00Z"}',
    '{"event":"bad time","occurred_at":"yesterday"}',
    '{"event":"inexact","occurred_at":"2026-01-01T00:00:00Z","properties":{"n":12345678901234567890}}',
    '{"event":"exact","occurred_at":"2026-01-01T00:00:00Z","properties":{"n":1.5e300,"m":-0}}',
    '{"event":"é 😀 \\u0000","occurred_at":"2026-01-01T00:00:00.123+02:00"}',
    "42",
    "null",
    '"text"',
    "[]"
  )
)

/** A body: records, sometimes one with a field `events` does not have (the whole batch is refused). */
const bodyArb = fc
  .tuple(fc.array(recordText, { minLength: 1, maxLength: 25 }), fc.nat(9))
  .map(([records, roll]) =>
    roll === 0
      ? `{"records":[${[...records, '{"event":"x","occurred_at":"2026-01-01T00:00:00Z","nope":1}'].join(",")}]}`
      : `{"records":[${records.join(",")}]}`
  )

/** What a client sees of an append: the answer, and for an accepted one its job and row errors. */
const outcome = (service: TestService.TestServiceShape, body: string) =>
  Effect.gen(function* () {
    const answer = yield* TestService.rawPost("/public/v1/records/events/append-batch", body, { token })
    if (answer.status !== 202) return { status: answer.status, answer: JSON.parse(answer.text) as unknown }
    const { jobId } = TestService.dataOf<{ jobId: string }>(answer)
    const job = yield* TestService.awaitJob(service.api.alpha, "events", jobId)
    const errors = yield* service.api.alpha.jobs.listJobErrors({
      path: { object: "events", jobId },
      urlParams: { limit: 1_000 }
    })
    return { status: answer.status, state: job.state, metrics: job.metrics, errors: errors.data.errors }
  }).pipe(Effect.provideService(TestService.TestService, service))

const storedRows = (service: TestService.TestServiceShape) =>
  Effect.map(TestService.allRecords(service.api.alpha, "events"), (rows) => rows.map(TestService.fieldsOf))

// On PostgreSQL batches under 2,000 records are queued, not applied inline: there the prepared records are kept
// for the job (`AcceptedRecords`) and written by a worker.
TestService.forEachAdapter((adapter) =>
  layer(Layer.merge(serviceAs(Threaded, 1, adapter), serviceAs(OnHttpThread, 0, adapter)), {
    excludeTestServices: true
  })("appends prepared off the HTTP thread", (it) => {
    it.effect(
      "have the outcome of appends prepared on it: answer, metrics, row errors with records, stored rows",
      () =>
        Effect.gen(function* () {
          const threaded = yield* Threaded
          const onHttpThread = yield* OnHttpThread
          const bodies = fc.sample(bodyArb, { numRuns: 30, seed: 13 })
          let accepted = 0
          for (const body of bodies) {
            const expected = yield* outcome(onHttpThread, body)
            const seen = yield* outcome(threaded, body)
            assert.deepStrictEqual(seen, expected, body)
            if (expected.status === 202) accepted++
          }
          assert.isAtLeast(accepted, 20, "most batches are accepted")
          assert.deepStrictEqual(yield* storedRows(threaded), yield* storedRows(onHttpThread))
        }),
      60_000
    )
  })
)
