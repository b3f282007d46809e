/**
 * `RecordBuffer` on the real service, directly and behind the fault server: flushes by age, waits when full,
 * delivers everything on close, loses nothing when the service goes away mid-run, sends the next group before the
 * jobs of the previous are done, keeps upserts in order across partitions, tracks records, fails loudly on a wrong
 * token, and closes within its deadline with the service down.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ErrorCode } from "@batchwrite/core"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import * as fc from "fast-check"
import { Context, Effect, Fiber, Layer, Option, Runtime, Schedule, Stream } from "effect"
import { DeadLetter } from "../src/DeadLetter.js"
import { closeTimeoutCode } from "../src/Errors.js"
import { retryPolicy } from "../src/Policies.js"
import * as RecordBuffer from "../src/RecordBuffer.js"
import { RecordsClient, type RecordsClientOptions } from "../src/RecordsClient.js"
import * as FaultServer from "./support/FaultServer.js"
import { relay } from "./support/FaultServer.js"
import { layer as realService, RealService, testOptions } from "./support/RealService.js"

class Faults extends Context.Tag("test/Faults")<Faults, FaultServer.FaultServer>() {}

const notes = {
  fields: { id: { type: "integer", required: true }, at: { type: "datetime" }, run: { type: "string" } },
  matchKeys: []
} as const

/** A client (on the real service, or through the fault server) and an in-memory dead letter. */
const services = (through: "direct" | "faults", overrides: Partial<RecordsClientOptions> = {}) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const origin = through === "direct" ? (yield* RealService).origin : (yield* Faults).origin
      return Layer.merge(
        RecordsClient.layer({ ...testOptions(`${origin}/public/v1`), ...overrides }),
        DeadLetter.memory
      )
    })
  )

const direct = <A, E>(f: (client: RecordsClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(RealService, ({ origin }) =>
    Effect.flatMap(RecordsClient, f).pipe(Effect.provide(RecordsClient.layer(testOptions(`${origin}/public/v1`))))
  )

const rowsOfRun = (run: string) =>
  direct((client) => Stream.runCollect(client.allRecords("notes"))).pipe(
    Effect.map((rows) => [...rows].filter((row) => row.run === run))
  )

/** Repeats `effect` every 50 ms until `done` holds, for at most 10 s. */
const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet" as const),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (error) => error === "not yet" }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("condition not met in time") })
  )

const note = (run: string, id: number) => ({ id, at: "2026-04-21T15:00:00Z", run })

/** The stats of a buffer that delivered `delivered` records and holds nothing. */
const done = (delivered: number): RecordBuffer.RecordBufferStats => ({
  offered: delivered,
  buffered: 0,
  inFlight: 0,
  accepted: delivered,
  awaiting: 0,
  delivered,
  deadLettered: 0,
  unconfirmed: 0
})

/** An upsert of `profiles`: a key of the run, and some fields (a later record merges over an earlier one). */
interface ProfileUpdate {
  readonly email: string
  readonly tier?: string
  readonly first_name?: string | null
}

/** Updates of eight keys, each key written in upper or lower case (the service lower-cases emails). */
const profileUpdates = fc.array(
  fc.record(
    {
      key: fc.integer({ min: 0, max: 7 }),
      upper: fc.boolean(),
      tier: fc.constantFrom("gold", "silver", "bronze"),
      first_name: fc.option(fc.constantFrom("Ada", "Bo"), { nil: null })
    },
    { requiredKeys: ["key", "upper", "tier"] }
  ),
  { minLength: 1, maxLength: 60 }
)

/** The records of the updates, with keys of their own run. */
const recordsOf = (run: string, updates: typeof profileUpdates extends fc.Arbitrary<infer T> ? T : never) =>
  updates.map(({ first_name, key, tier, upper }): ProfileUpdate => {
    const email = `${run}-key${key}@example.com`
    return { email: upper ? email.toUpperCase() : email, tier, ...(first_name === undefined ? {} : { first_name }) }
  })

/** Applies the updates one by one, as SPEC §1.4 says the stored state must be. */
const serially = (updates: ReadonlyArray<ProfileUpdate>) => {
  const rows = new Map<string, Record<string, unknown>>()
  for (const update of updates) {
    const email = update.email.toLowerCase()
    rows.set(email, { ...rows.get(email), ...update, email })
  }
  return rows
}

layer(Layer.merge(realService, Layer.scoped(Faults, FaultServer.make)), {
  excludeTestServices: true,
  timeout: 60_000
})("RecordBuffer", (it) => {
  it.effect("flushes by age with no new records arriving", () =>
    Effect.gen(function* () {
      yield* direct((client) => client.putObject("notes", notes))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make("notes", { mode: "append", maxAge: "200 millis" })
          yield* buffer.offerAll([note("age", 1), note("age", 2), note("age", 3)])
          // the scope stays open: only the timer can flush
          yield* eventually(buffer.stats, (stats) => stats.delivered === 3)
          assert.strictEqual((yield* rowsOfRun("age")).length, 3)
          assert.deepStrictEqual(yield* buffer.stats, done(3))
        })
      ).pipe(Effect.provide(services("direct")))
    })
  )

  it.effect("closing the scope delivers everything still buffered", () =>
    Effect.gen(function* () {
      const stats = yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make<ReturnType<typeof note>>("notes", {
            mode: "append",
            maxAge: "1 hour",
            maxRecords: 500
          })
          for (let id = 0; id < 1_234; id++) yield* buffer.offer(note("close", id))
          return buffer.stats
        })
      ).pipe(Effect.provide(services("direct")))
      assert.deepStrictEqual(yield* stats, done(1_234))
      assert.strictEqual((yield* rowsOfRun("close")).length, 1_234)
    })
  )

  it.effect("offer waits while the buffer is full", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      let release: () => void = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      faults.reset(async (request, response) => {
        if (request.method === "POST") await released
        relay(response, await faults.forward(origin, request))
      })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make<ReturnType<typeof note>>("notes", {
            mode: "append",
            maxRecords: 1,
            capacity: 2,
            maxAge: "50 millis"
          })
          const offering = yield* Effect.fork(
            Effect.forEach(
              Array.from({ length: 20 }, (_, id) => note("full", id)),
              buffer.offer
            )
          )
          yield* Effect.sleep("500 millis")
          assert.isTrue(Option.isNone(yield* Fiber.poll(offering)), "offer should be waiting")
          const waiting = yield* buffer.stats
          assert.strictEqual(waiting.delivered, 0)
          assert.isAtLeast(waiting.buffered, 2)
          release()
          yield* Fiber.join(offering)
        })
      ).pipe(Effect.provide(services("faults")))
      assert.strictEqual((yield* rowsOfRun("full")).length, 20)
    })
  )

  it.effect("invalid rows go to the dead letter with their job", () =>
    Effect.gen(function* () {
      const entries = yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make("notes", { mode: "append", maxAge: "1 hour" })
          yield* buffer.offerAll([note("invalid", 1), { ...note("invalid", 2), at: "yesterday" }])
          return DeadLetter
        })
      ).pipe(
        Effect.flatMap((tag) => Effect.flatMap(tag, (deadLetter) => deadLetter.entries)),
        Effect.provide(services("direct"))
      )
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]!.code, ErrorCode.RequestInvalid)
      assert.deepStrictEqual(entries[0]!.record, { ...note("invalid", 2), at: "yesterday" })
      assert.match(entries[0]!.jobId ?? "", /^rjob_/)
    })
  )

  it.effect("killing the service mid-run: every record is stored or dead-lettered, none lost, none twice", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      let forwarded = 0
      faults.reset(async (request, response) => {
        if (forwarded >= 3) return void response.socket?.destroy()
        if (request.method === "POST") forwarded++
        relay(response, await faults.forward(origin, request))
      })
      const total = 500
      const { deadLetters, stats } = yield* Effect.gen(function* () {
        const stats = yield* Effect.scoped(
          Effect.gen(function* () {
            const buffer = yield* RecordBuffer.make<ReturnType<typeof note>>("notes", {
              mode: "append",
              maxRecords: 50,
              maxBatchRecords: 50,
              maxAge: "100 millis"
            })
            for (let id = 0; id < total; id++) yield* buffer.offer(note("kill", id))
            return buffer.stats
          })
        )
        const deadLetter = yield* DeadLetter
        return { deadLetters: yield* deadLetter.entries, stats: yield* stats }
      }).pipe(Effect.provide(services("faults", { requestTimeout: "2 seconds" })))
      // accepted jobs whose outcome could not be read through the dead server are unconfirmed, yet stored
      assert.strictEqual(stats.delivered + stats.deadLettered + stats.unconfirmed, total)
      assert.strictEqual(stats.accepted, stats.delivered + stats.unconfirmed)
      assert.isAbove(stats.accepted, 0)
      assert.isAbove(stats.deadLettered, 0)
      assert.strictEqual(deadLetters.length, stats.deadLettered)
      assert.isTrue(deadLetters.every((entry) => entry.code === "CDP_ETL.CLIENT.TRANSPORT"))
      const stored = yield* eventually(rowsOfRun("kill"), (rows) => rows.length >= stats.accepted)
      const ids = [
        ...stored.map((row) => row.id as number),
        ...deadLetters.map((entry) => (entry.record as { id: number }).id)
      ]
      assert.strictEqual(ids.length, total)
      assert.strictEqual(new Set(ids).size, total)
    })
  )

  it.effect("sends the next group as soon as the previous is accepted, while the jobs are still awaited", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      let release: () => void = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      let jobReads = 0
      faults.reset(async (request, response) => {
        if (request.method === "GET") {
          await released
          jobReads++
        }
        relay(response, await faults.forward(origin, request))
      })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make<ReturnType<typeof note>>("notes", {
            mode: "append",
            maxRecords: 10,
            maxBatchRecords: 10,
            concurrency: 1,
            maxAge: "50 millis"
          })
          yield* buffer.offerAll(Array.from({ length: 50 }, (_, id) => note("pipelined", id)))
          // every group is accepted while no job has been read yet
          const stats = yield* eventually(buffer.stats, (stats) => stats.accepted === 50)
          assert.strictEqual(jobReads, 0)
          assert.strictEqual(stats.awaiting, 50)
          assert.strictEqual(stats.delivered, 0)
          assert.strictEqual(faults.requests.filter((request) => request.method === "POST").length, 5)
          release()
          yield* eventually(buffer.stats, (stats) => stats.delivered === 50)
        })
      ).pipe(Effect.provide(services("faults")))
      assert.strictEqual((yield* rowsOfRun("pipelined")).length, 50)
    })
  )

  it.effect("upserts in partitions end equal to applying the input one record at a time (property)", () =>
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<RecordsClient | DeadLetter>()
      let runs = 0
      const check = (updates: ReadonlyArray<ProfileUpdate>, prefix: string) =>
        Effect.gen(function* () {
          yield* Effect.scoped(
            Effect.gen(function* () {
              const buffer = yield* RecordBuffer.make<ProfileUpdate>("profiles", {
                mode: "upsert",
                matchKey: "email",
                concurrency: 3,
                maxRecords: 4,
                maxBatchRecords: 6,
                maxAge: "20 millis"
              })
              for (const update of updates) yield* buffer.offer(update)
            })
          )
          const client = yield* RecordsClient
          const stored = yield* Stream.runCollect(client.allRecords("profiles"))
          const expected = serially(updates)
          const rows = [...stored].filter((row) => String(row.email).startsWith(prefix))
          assert.strictEqual(rows.length, expected.size)
          for (const row of rows) {
            const want = expected.get(String(row.email))!
            assert.strictEqual(row.tier, want.tier, `${row.email}: tier`)
            assert.strictEqual(row.first_name ?? null, want.first_name ?? null, `${row.email}: first_name`)
          }
        })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(profileUpdates, (updates) => {
            const prefix = `partitions${++runs}`
            return Runtime.runPromise(runtime)(check(recordsOf(prefix, updates), prefix))
          }),
          { numRuns: 12 }
        )
      )
    }).pipe(Effect.provide(services("direct")))
  )

  it.effect("partitionOf: one key always lands in one partition, whatever its case", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(fc.string(), fc.integer({ min: 1, max: 16 }), (key, partitions) => {
          const at = RecordBuffer.partitionOf({ email: key }, "email", partitions)
          assert.isAtLeast(at, 0)
          assert.isBelow(at, partitions)
          assert.strictEqual(RecordBuffer.partitionOf({ email: key.toUpperCase() }, "email", partitions), at)
          assert.strictEqual(RecordBuffer.partitionOf({ email: key, other: 1 }, "email", partitions), at)
        })
      )
    )
  )

  it.effect("track: waits for the acceptance, then for the outcome with the row error", () =>
    Effect.gen(function* () {
      const { bad, good, stats } = yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make("notes", { mode: "append", maxAge: "1 hour" })
          const good = yield* buffer.track(note("track", 1))
          const bad = yield* buffer.track({ ...note("track", 2), at: "yesterday" })
          yield* buffer.flush
          // flush returns once both are accepted: their job need not be done yet
          const jobId = yield* good.accepted
          assert.match(jobId, /^rjob_/)
          assert.strictEqual(yield* bad.accepted, jobId)
          return { good: yield* good.settled, bad: yield* bad.settled, stats: buffer.stats }
        })
      ).pipe(Effect.provide(services("direct")))
      assert.strictEqual(good._tag, "Stored")
      assert.strictEqual(bad._tag, "Rejected")
      if (bad._tag === "Rejected") assert.strictEqual(bad.rowError.field, "at")
      assert.include(yield* stats, { offered: 2, delivered: 1, deadLettered: 1, buffered: 0, awaiting: 0 })
    })
  )

  it.effect("one buffer for the application through a layer; its final stats after it closed", () =>
    Effect.gen(function* () {
      const Notes = RecordBuffer.tag<ReturnType<typeof note>>("test/Notes")
      const stats = yield* Effect.gen(function* () {
        const notes = yield* Notes
        yield* Effect.forEach([1, 2, 3], (id) => notes.offer(note("layer", id)))
        return notes.stats
      }).pipe(
        Effect.provide(
          RecordBuffer.layer(Notes, "notes", { mode: "append", maxAge: "1 hour" }).pipe(
            Layer.provide(services("direct"))
          )
        )
      )
      assert.include(yield* stats, { offered: 3, delivered: 3, buffered: 0, awaiting: 0 })
      assert.strictEqual((yield* rowsOfRun("layer")).length, 3)
    })
  )

  it.effect("a wrong token fails the buffer with Unauthorized, and the write too", () =>
    Effect.gen(function* () {
      const outcome = yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make("notes", { mode: "append", maxAge: "1 hour" })
          const receipt = yield* buffer.track(note("token", 1))
          yield* buffer.offer(note("token", 2))
          const flushed = yield* Effect.flip(buffer.flush)
          const accepted = yield* Effect.flip(receipt.accepted)
          const offered = yield* Effect.flip(buffer.offer(note("token", 3)))
          return { flushed, accepted, offered, stats: yield* buffer.stats }
        })
      ).pipe(Effect.provide(services("direct", { token: "not-a-token-of-this-service" })))
      assert.strictEqual(outcome.flushed._tag, "Unauthorized")
      assert.strictEqual(outcome.accepted._tag, "Unauthorized")
      assert.strictEqual(outcome.offered._tag, "Unauthorized")
      assert.include(outcome.stats, { offered: 2, accepted: 0 })
      const written = yield* Effect.flatMap(RecordsClient, (client) =>
        client.write("notes", [note("token", 4)], { mode: "append", onError: "deadLetter" })
      ).pipe(Effect.flip, Effect.provide(services("direct", { token: "not-a-token-of-this-service" })))
      assert.strictEqual(written._tag, "Unauthorized")
    })
  )

  it.effect("closing with the service down returns within closeTimeout; every record is stored or in the file", () =>
    Effect.gen(function* () {
      const faults = yield* Faults
      const { origin } = yield* RealService
      yield* direct((client) => client.putObject("notes", notes))
      let posts = 0
      faults.reset(async (request, response) => {
        if (request.method === "POST" && ++posts > 2) return void response.socket?.destroy()
        relay(response, await faults.forward(origin, request))
      })
      const directory = mkdtempSync(join(tmpdir(), "batchwrite-close-"))
      const file = join(directory, "dead.ndjson")
      const total = 1_000
      // without the deadline, each group would retry for up to two minutes
      const patient = retryPolicy({
        base: "100 millis",
        cap: "500 millis",
        maxRetries: 10_000,
        maxElapsed: "2 minutes"
      })
      const { seconds, stats } = yield* Effect.gen(function* () {
        const buffer = yield* Effect.scoped(
          Effect.gen(function* () {
            const buffer = yield* RecordBuffer.make<ReturnType<typeof note>>("notes", {
              mode: "append",
              maxRecords: 100,
              maxBatchRecords: 100,
              maxAge: "1 hour",
              closeTimeout: "2 seconds",
              retry: patient
            })
            for (let id = 0; id < total; id++) yield* buffer.offer(note("down", id))
            return { buffer, closing: Date.now() }
          })
        )
        const stats = yield* buffer.buffer.stats
        return { seconds: (Date.now() - buffer.closing) / 1_000, stats }
      }).pipe(
        Effect.provide(Layer.merge(services("faults"), DeadLetter.file(file).pipe(Layer.provide(NodeFileSystem.layer))))
      )
      const entries = readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { record: { id: number }; code: string })
      rmSync(directory, { recursive: true, force: true })
      // bounded by the deadline (2 s) and not by the retry budget of ten groups; loose for a loaded machine
      assert.isBelow(seconds, 20)
      assert.strictEqual(stats.delivered + stats.deadLettered + stats.unconfirmed, total)
      assert.strictEqual(stats.deadLettered, entries.length)
      assert.isAbove(stats.accepted, 0)
      assert.isTrue(entries.some((entry) => entry.code === closeTimeoutCode))
      const stored = yield* eventually(rowsOfRun("down"), (rows) => rows.length >= stats.accepted)
      const ids = [...stored.map((row) => row.id as number), ...entries.map((entry) => entry.record.id)]
      assert.strictEqual(ids.length, total)
      assert.strictEqual(new Set(ids).size, total)
    })
  )
})
