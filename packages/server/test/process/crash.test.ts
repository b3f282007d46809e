/**
 * A `202` is a promise (SPEC §1.5, §1.10): a real `batchwrite serve` is killed with SIGKILL while batches are in
 * flight and while a job runs, or stopped with SIGTERM while jobs run, while batches are in flight, and while a
 * new client connects; after a restart on the same database (SQLite file or PostgreSQL database), every acknowledged batch replays its job byte for byte,
 * every job completes, every appended record is stored exactly once, and every profile equals the upserts applied
 * one by one in `sequence` order.
 */
import { get as httpGet } from "node:http"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { forEachProcessAdapter } from "../support/Adapters.js"
import { ServeProcess } from "../support/ServeProcess.js"
import {
  type Answer,
  appendBatch,
  assertAppendedOnce,
  assertProfilesMerged,
  awaitJob,
  type Batch,
  type Job,
  postBatch,
  postBatchRetrying,
  readAllRows,
  upsertBatch
} from "./Workload.js"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const servers: Array<ServeProcess> = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()))
})

/** Waits for every job, asserts each completed with every row valid, and checks the stored rows. */
const assertAllApplied = async (server: ServeProcess, batches: ReadonlyArray<Batch>, jobIds: ReadonlyArray<string>) => {
  const deadline = Date.now() + 30_000
  const jobs = await Promise.all(batches.map((batch, i) => awaitJob(server, batch.object, jobIds[i]!, deadline)))
  const unfinished = jobs.filter((job) => job.state !== "completed" || job.metrics.invalidRows !== 0)
  assert.deepStrictEqual(
    unfinished.map((job) => `${job.jobId}: ${job.state} ${JSON.stringify(job.failure ?? job.metrics)}`),
    [],
    "every job completes with every row valid"
  )
  jobs.forEach((job, i) => {
    assert.strictEqual(job.metrics.totalRows, batches[i]!.records.length)
  })
  assertAppendedOnce(await readAllRows(server, "events"), batches)
  assertProfilesMerged(
    await readAllRows(server, "profiles"),
    batches.flatMap((batch, i) => (batch.operation === "upsert-batch" ? [{ batch, sequence: jobs[i]!.sequence }] : []))
  )
  return jobs
}

const completedAfter = (jobs: ReadonlyArray<Job>, time: number) =>
  jobs.filter((job) => job.completedAt !== null && Date.parse(job.completedAt) > time).length

/** What a concurrent send observed, per batch: the answer, or the network error of a request that got none. */
type Outcome = { readonly answer: Answer } | { readonly error: string }

/**
 * Sends every batch at once (each on its own connection, a few ms apart, as a client whose buffers fill up) and
 * calls `interrupt` once `ready(acknowledged indexes)` holds, with how many were in flight and unsent then.
 */
const sendAll = async (
  server: ServeProcess,
  batches: ReadonlyArray<Batch>,
  ready: (acknowledged: ReadonlySet<number>) => boolean,
  interrupt: (inFlight: number, unsent: number) => Promise<unknown>
) => {
  let started = 0
  let settled = 0
  const acknowledged = new Set<number>()
  let interrupted: Promise<unknown> | undefined
  const outcomes = await Promise.all(
    batches.map(async (batch, i): Promise<Outcome> => {
      await sleep(i * 2)
      started++
      let outcome: Outcome
      try {
        const answer = await postBatch(server, batch)
        outcome = { answer }
        if (answer.status === 202) acknowledged.add(i)
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause
        outcome = { error: cause?.code ?? cause?.message ?? String(error) }
      }
      settled++
      if (interrupted === undefined && ready(acknowledged)) {
        interrupted = interrupt(started - settled, batches.length - started)
      }
      return outcome
    })
  )
  await interrupted
  return outcomes
}

const ackOf = (outcome: Outcome | undefined) =>
  outcome !== undefined && "answer" in outcome && outcome.answer.status === 202 ? outcome.answer : undefined

/** Re-sends every batch with its key; an acknowledged one must replay its job byte for byte. */
const resendAll = async (server: ServeProcess, batches: ReadonlyArray<Batch>, outcomes: ReadonlyArray<Outcome>) => {
  const resent = await Promise.all(batches.map((batch) => postBatchRetrying(server, batch)))
  resent.forEach((answer, i) => {
    const original = ackOf(outcomes[i])
    assert.strictEqual(answer.status, 202, `batch ${i} re-sent: ${answer.text}`)
    if (original !== undefined) {
      assert.isTrue(answer.replayed, `acknowledged batch ${i} must come back with Idempotent-Replayed: true`)
      assert.strictEqual(answer.jobId, original.jobId, `acknowledged batch ${i} must replay its original job`)
      assert.strictEqual(answer.text, original.text, `acknowledged batch ${i}: the replay is byte for byte`)
    }
  })
  const jobIds = resent.map((answer) => answer.jobId!)
  assert.strictEqual(new Set(jobIds).size, batches.length, "one job per batch")
  return resent
}

/**
 * Sends the batches, kills the server with -9 once 20 are acknowledged (the others in flight), restarts it and re-sends
 * every batch with its key (an acknowledged one must replay its job).
 */
const killWithBatchesInFlight = async (server: ServeProcess, batches: ReadonlyArray<Batch>) => {
  let killedAt = 0
  let atKill = { inFlight: 0, unsent: 0 }
  const outcomes = await sendAll(
    server,
    batches,
    (acked) => acked.size >= 20,
    (inFlight, unsent) => {
      killedAt = Date.now()
      atKill = { inFlight, unsent }
      return server.kill9()
    }
  )
  const refused = outcomes.flatMap((o, i) =>
    "answer" in o && o.answer.status !== 202 ? [`${i}: ${o.answer.text}`] : []
  )
  assert.deepStrictEqual(refused, [], "a batch was refused before the crash")
  assert.isAbove(atKill.inFlight, 0, "the kill came when no request was in flight")
  assert.isNull(server.exitStatus?.code, "killed by a signal")
  await server.restart()
  const resent = await resendAll(server, batches, outcomes)

  return { atKill, killedAt, outcomes, resent }
}

forEachProcessAdapter((adapter) => {
  // PostgreSQL: a restarted node takes back its own jobs and idempotency keys only once their leases run out (other
  // nodes could be holding them), so the leases are short here.
  const leases = adapter === "postgres" ? ["--job-lease", "2", "--request-lease", "2"] : []
  // Every batch queued for the workers (no inline apply), for the tests of jobs running in a worker.
  const queued = [...leases, "--inline-max-records", "0"]

  describe("batchwrite serve survives a crash and a shutdown", () => {
    it("kill -9 with appends being applied inline (and upserts queued) in flight: nothing acknowledged is lost or applied twice", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter, args: leases })
      servers.push(server)
      // Appends of 2,000 records: applied inline on both storages (PostgreSQL applies from 2,000 on).
      const batches = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? appendBatch("inline", i, 2_000) : upsertBatch("inline", i, 150, 60)
      )
      const { outcomes, resent } = await killWithBatchesInFlight(server, batches)
      await assertAllApplied(
        server,
        batches,
        resent.map((answer) => answer.jobId!)
      )
      console.log(
        `crash test (inline apply): ${outcomes.filter((o) => ackOf(o) !== undefined).length}/${batches.length} batches acknowledged before the kill`
      )
      assert.strictEqual(await server.stop(), 0)
    }, 60_000)

    it("kill -9 with batches in flight, and with a job running: nothing acknowledged is lost or applied twice", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter, args: queued })
      servers.push(server)
      const batches = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? appendBatch("crash", i, 150) : upsertBatch("crash", i, 150, 60)
      )

      // 1. Killed once 20 batches are acknowledged, while the others are in flight.
      const { atKill, killedAt, outcomes, resent } = await killWithBatchesInFlight(server, batches)

      // 2. Killed while large upserts' jobs run: three of one object, sent together, run one after another (each
      // claimed ~10-50 ms after the one before, then ~150 ms of work), so that one is still to run at the kill even
      // when a loaded machine delivers the 202s late (a single large job could be done by then).
      const large = Array.from({ length: 3 }, (_, i) => upsertBatch("crash", 40 + i, 10_000, 3_000, 800))
      const largeAnswers = await Promise.all(large.map((batch) => postBatch(server, batch)))
      for (const answer of largeAnswers) assert.strictEqual(answer.status, 202, answer.text)
      await sleep(60)
      const killedRunningAt = Date.now()
      await server.kill9()
      await server.restart()
      const requeued = /jobsRequeued\D+(\d+)/.exec(server.stdout + server.stderr)?.[1] ?? "0"
      for (const [i, batch] of large.entries()) {
        const replay = await postBatchRetrying(server, batch)
        assert.isTrue(replay.replayed && replay.jobId === largeAnswers[i]!.jobId, "a large batch replays its job")
      }

      const all = [...batches, ...large]
      const jobs = await assertAllApplied(server, all, [
        ...resent.map((answer) => answer.jobId!),
        ...largeAnswers.map((answer) => answer.jobId!)
      ])
      // Jobs committed before the first kill (acknowledged, or replayed although their 202 was lost).
      const committed = jobs
        .slice(0, batches.length)
        .filter((_, i) => ackOf(outcomes[i]) !== undefined || resent[i]!.replayed)
      console.log(
        `crash test: ${outcomes.filter((o) => ackOf(o) !== undefined).length}/${batches.length} batches acknowledged, ` +
          `${atKill.inFlight} in flight and ${atKill.unsent} unsent at the first kill; ${committed.length} jobs ` +
          `committed before it, ${completedAfter(committed, killedAt)} of them not yet completed; the second kill ` +
          `left ${requeued} job(s) processing (requeued on restart)`
      )
      assert.isAbove(
        completedAfter(jobs.slice(-large.length), killedRunningAt),
        0,
        "a large job was still to run when the server was killed"
      )
      assert.strictEqual(await server.stop(), 0)
    }, 60_000)

    it("SIGTERM while jobs run: exit 0, and after a restart every job completes, nothing lost", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter, args: queued })
      servers.push(server)
      // Then three large upserts of one object at once: they are accepted together and their jobs run one after
      // another, so when SIGTERM follows their 202s at least one job is still to run (a single large job, sent
      // last, could be done by then).
      const first = Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? appendBatch("term", i, 2_000) : upsertBatch("term", i, 2_000, 500)
      )
      const last = Array.from({ length: 3 }, (_, i) => upsertBatch("term", 12 + i, 10_000, 3_000))
      const batches = [...first, ...last]
      const answers: Array<Answer> = []
      for (const batch of first) answers.push(await postBatch(server, batch))
      answers.push(...(await Promise.all(last.map((batch) => postBatch(server, batch)))))
      const stoppedAt = Date.now()
      const code = await server.stop()
      answers.forEach((answer, i) => {
        assert.strictEqual(answer.status, 202, `batch ${i}: ${answer.text}`)
      })
      assert.strictEqual(code, 0, `exit code after SIGTERM\n${server.stderr}`)
      assert.notMatch(server.stdout + server.stderr, /ERROR|defect/i, "the shutdown logged an error")

      await server.restart()
      const jobs = await assertAllApplied(
        server,
        batches,
        answers.map((answer) => answer.jobId!)
      )
      const pendingAtStop = completedAfter(jobs, stoppedAt)
      console.log(`shutdown test: ${pendingAtStop}/${jobs.length} jobs were not completed when SIGTERM was sent`)
      assert.isAbove(pendingAtStop, 0, "every job had completed before SIGTERM: the test proved nothing")
      const again = await postBatch(server, batches[1]!)
      assert.isTrue(again.replayed && again.jobId === answers[1]!.jobId, "keys survive the restart")
      assert.strictEqual(await server.stop(), 0)
    }, 60_000)

    it("SIGTERM with batches in flight: in-flight requests finish, exit 0 promptly, nothing lost", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter, args: leases })
      servers.push(server)
      const batches = Array.from({ length: 24 }, (_, i) =>
        i % 2 === 0 ? appendBatch("drain", i, 2_000) : upsertBatch("drain", i, 2_000, 500)
      )
      // Shutdown problems are collected, so that the data checks after the restart still run and report.
      const problems: Array<string> = []
      const outcomes = await sendAll(
        server,
        batches,
        (acked) => acked.size >= 8,
        async () => {
          try {
            const code = await server.stop(8_000)
            if (code !== 0) problems.push(`exit code ${code} after SIGTERM`)
          } catch (error) {
            problems.push(`${(error as Error).message.split("\n")[0]} (killed with SIGKILL)`)
          }
        }
      )
      // Every request already sent when SIGTERM came is finished; only a connection opened later may be refused.
      outcomes.forEach((o, i) => {
        if ("error" in o && o.error !== "ECONNREFUSED") problems.push(`in-flight batch ${i} got no answer: ${o.error}`)
        if ("answer" in o && o.answer.status !== 202) problems.push(`batch ${i}: ${o.answer.status} ${o.answer.text}`)
      })

      await server.restart()
      const resent = await resendAll(server, batches, outcomes)
      await assertAllApplied(
        server,
        batches,
        resent.map((answer) => answer.jobId!)
      )
      assert.strictEqual(await server.stop(), 0)
      assert.deepStrictEqual(
        problems,
        [],
        `SPEC §1.10: SIGTERM stops accepting, finishes in-flight requests, exits 0: ${problems.join("; ")}`
      )
    }, 60_000)

    it("a request arriving during the shutdown is answered or refused, and the process still exits 0", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter, args: leases })
      servers.push(server)
      // A large upsert keeps a job running, so the shutdown takes a moment; a client connects during it.
      const large = upsertBatch("late", 0, 10_000, 10_000, 800)
      const accepted = await postBatch(server, large)
      assert.strictEqual(accepted.status, 202, accepted.text)
      const stopping = server.stop(5_000).then(
        (code) => (code === 0 ? "exit 0" : `exit code ${code}`),
        (error: Error) => `${error.message.split("\n")[0]} (killed with SIGKILL)`
      )
      await sleep(5)
      // A new connection (as a new client opens), not one of the pool's idle keep-alive connections.
      const sentAt = Date.now()
      const late = await new Promise<string>((resolve) => {
        const request = httpGet({
          host: "127.0.0.1",
          port: server.port,
          path: "/healthz",
          agent: false,
          timeout: 6_000
        })
        request.once("response", (response) => {
          response.resume()
          resolve(`answered ${response.statusCode}`)
        })
        request.once("timeout", () => {
          request.destroy()
          resolve("no answer within 6 s")
        })
        request.once("error", (error: NodeJS.ErrnoException) => {
          const after = Date.now() - sentAt
          // An error once the process was killed is no answer at all; a refusal comes at once.
          resolve(after < 1_000 ? `refused (${error.code})` : `no answer (${error.code} after ${after} ms)`)
        })
      })
      const exit = await stopping
      await server.restart()
      const job = await awaitJob(server, "profiles", accepted.jobId!, Date.now() + 20_000)
      assert.strictEqual(job.state, "completed", "the large job completes after the restart")
      assert.deepStrictEqual(
        { late: late.startsWith("no answer") ? late : "answered or refused", exit },
        { late: "answered or refused", exit: "exit 0" },
        "GET /healthz sent 5 ms after SIGTERM (a job running): SPEC §1.10 stop accepting, finish, exit 0"
      )
      assert.strictEqual(await server.stop(), 0)
    }, 60_000)
  })
})
