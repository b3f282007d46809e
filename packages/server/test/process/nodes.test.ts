/**
 * Several `batchwrite serve` nodes on one PostgreSQL database (SPEC §1.4, §2): clients upsert overlapping keys with
 * partial records through different nodes, and every row ends equal to applying the upserts one by one in
 * `sequence` order, with `sequence` respecting real time (a request sent after another's `202` arrived has a larger
 * one). Then a node is killed with SIGKILL while it processes jobs: the other nodes take them over once their lease
 * runs out, and every record is applied exactly once.
 */
import { afterAll, assert, it } from "@effect/vitest"
import { onPostgres } from "../support/Adapters.js"
import { createDatabase, holdInTransaction, query } from "../support/Postgres.js"
import { ServeProcess } from "../support/ServeProcess.js"
import {
  type Answer,
  appendBatch,
  assertAppendedOnce,
  assertProfilesMerged,
  awaitJob,
  type Batch,
  postBatch,
  readAllRows,
  upsertBatch
} from "./Workload.js"

const cleanups: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** Three nodes on one fresh database, started at the same time (the migrations run once). */
const startNodes = async (args: ReadonlyArray<string> = []) => {
  const database = await createDatabase()
  cleanups.push(database.drop)
  const token = `nodes-token-${Math.random().toString(36).slice(2)}`
  const nodes = await Promise.all(
    [0, 1, 2].map((i) =>
      ServeProcess.start({
        database: database.url,
        // One node finds its port and database in BATCHWRITE_PORT and BATCHWRITE_DATABASE.
        settingsFromEnv: i === 2,
        token,
        workers: 2,
        args: ["--pool-size", "6", ...args]
      })
    )
  )
  for (const node of nodes) cleanups.push(() => node.dispose())
  return { database: database.url, nodes }
}

/** A batch sent to a node: what it answered and when (ms since the test began) it was sent and answered. */
interface Sent {
  readonly batch: Batch
  readonly node: number
  readonly sentAt: number
  readonly answeredAt: number
  readonly answer: Answer
}

const send = async (nodes: ReadonlyArray<ServeProcess>, node: number, batch: Batch): Promise<Sent> => {
  const sentAt = performance.now()
  const answer = await postBatch(nodes[node]!, batch)
  const answeredAt = performance.now()
  assert.strictEqual(answer.status, 202, `batch ${batch.key} on node ${node}: ${answer.text}`)
  return { batch, node, sentAt, answeredAt, answer }
}

/** Waits for every job (asking the nodes in turn) and asserts each completed with every row valid. */
const awaitAll = async (nodes: ReadonlyArray<ServeProcess>, sent: ReadonlyArray<Sent>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  const jobs = await Promise.all(
    sent.map((s, i) => awaitJob(nodes[i % nodes.length]!, s.batch.object, s.answer.jobId!, deadline))
  )
  assert.deepStrictEqual(
    jobs
      .filter((job) => job.state !== "completed" || job.metrics.invalidRows !== 0)
      .map((job) => `${job.jobId}: ${job.state} ${JSON.stringify(job.failure ?? job.metrics)}`),
    [],
    "every job completes with every row valid"
  )
  return jobs
}

/** The pids of the nodes whose workers processed jobs, from the claims the jobs keep. */
const processingPids = async (database: string) =>
  (await query<{ readonly pid: string }>(database, "SELECT DISTINCT split_part(claim, '/', 2) AS pid FROM jobs")).map(
    (row) => Number(row.pid)
  )

onPostgres("several serve nodes on one database", () => {
  it("clients upserting overlapping keys through three nodes: rows equal the serial application by sequence, and sequence respects real time", async () => {
    const { database, nodes } = await startNodes()
    const clients = 6
    const batchesPerClient = 8
    // Each client sends its batches one after another (the next once the previous 202 arrived), each to the next
    // node; all clients at once, over one pool of 120 emails.
    const sent = (
      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          const mine: Array<Sent> = []
          for (let k = 0; k < batchesPerClient; k++) {
            const index = client * 100 + k
            const batch = k % 4 === 3 ? appendBatch("mn", index, 50) : upsertBatch("mn", index, 200, 120)
            mine.push(await send(nodes, (client + k) % nodes.length, batch))
          }
          return mine
        })
      )
    ).flat()
    const jobs = await awaitAll(nodes, sent, 60_000)
    const sequences = jobs.map((job) => job.sequence)
    assert.strictEqual(new Set(sequences).size, sent.length, "one sequence per job")

    // Real time: every batch sent after another's 202 arrived has a larger sequence.
    const violations: Array<string> = []
    sent.forEach((later, j) => {
      sent.forEach((earlier, i) => {
        if (earlier.answeredAt < later.sentAt && sequences[i]! >= sequences[j]!) {
          violations.push(
            `${earlier.batch.key} (seq ${sequences[i]}) answered before ${later.batch.key} (seq ${sequences[j]}) was sent`
          )
        }
      })
    })
    assert.deepStrictEqual(violations.slice(0, 5), [], `${violations.length} sequences against real time`)

    // Stored state: the serial application in sequence order, read through every node.
    const upserts = sent.flatMap((s, i) =>
      s.batch.operation === "upsert-batch" ? [{ batch: s.batch, sequence: sequences[i]! }] : []
    )
    for (const node of nodes) {
      assertProfilesMerged(await readAllRows(node, "profiles"), upserts)
      assertAppendedOnce(
        await readAllRows(node, "events"),
        sent.map((s) => s.batch)
      )
    }
    // The work was shared: jobs were processed on more than one node.
    const pids = await processingPids(database)
    assert.isAtLeast(
      pids.filter((pid) => nodes.some((node) => node.pid === pid)).length,
      2,
      `processing nodes: ${pids.join(", ")}`
    )
  }, 120_000)

  it("a node killed with SIGKILL while processing: the others finish its jobs after the lease, every record once", async () => {
    // Every batch queued (no inline apply), so that the killed node is processing jobs in its workers.
    const { database, nodes } = await startNodes(["--job-lease", "2", "--inline-max-records", "0"])
    const batches: Array<Batch> = []
    for (let index = 0; index < 8; index++) batches.push(appendBatch("kill", index, 8_000))
    for (let index = 0; index < 8; index++) batches.push(upsertBatch("kill", index, 5_000, 3_000))
    const victim = nodes[0]!
    const survivors = nodes.slice(1)
    const pid = victim.pid

    // The tables of both objects exist once each was written to: a first small batch of each.
    const first = await Promise.all(
      [appendBatch("kill", 8, 10), upsertBatch("kill", 8, 10, 3_000)].map((batch, i) => send(survivors, i, batch))
    )
    await awaitAll(survivors, first, 30_000)
    const tables = await query<{ readonly tablename: string }>(
      database,
      "SELECT tablename FROM pg_tables WHERE tablename LIKE 'records\\_%'"
    )
    assert.strictEqual(tables.length, 2, "a table for events and one for profiles")
    // No job can finish while the test holds those tables locked against writes: a worker that claims one waits
    // inside it. The batches go to the two survivors, whose four workers each hold a job that way; node 0's workers
    // learn of the jobs left queued by polling, and claim one. Once node 0 holds a job it is killed, and the tables
    // are let go.
    const unlock = await holdInTransaction(
      database,
      `LOCK TABLE ${tables.map((table) => table.tablename).join(", ")} IN SHARE MODE`
    )
    const sent = await Promise.all(batches.map((batch, i) => send(survivors, i % survivors.length, batch)))
    let held: ReadonlyArray<{ readonly id: string }> = []
    const deadline = Date.now() + 60_000
    while (held.length === 0 && Date.now() < deadline) {
      held = await query<{ readonly id: string }>(
        database,
        `SELECT id FROM jobs WHERE state = 'processing' AND claim LIKE '%/${pid}/%'`
      )
    }
    await victim.kill9()
    await unlock()
    assert.isAbove(held.length, 0, "node 0 was processing a job when it was killed")
    const killedAt = Date.now()

    await awaitAll(survivors, sent, 90_000)
    const taken = await query<{ readonly id: string; readonly attempts: number; readonly claim: string }>(
      database,
      `SELECT id, attempts, claim FROM jobs WHERE id IN (${held.map((row) => `'${row.id}'`).join(", ")})`
    )
    for (const job of taken) {
      assert.isAtLeast(Number(job.attempts), 2, `job ${job.id} was claimed again`)
      assert.notInclude(job.claim, `/${pid}/`, `job ${job.id} was finished by another node`)
    }
    console.log(
      `kill test: node ${pid} killed holding ${held.length} job(s); the others finished everything ${Date.now() - killedAt} ms later`
    )
    const all = [...first, ...sent]
    const jobs = await awaitAll(survivors, all, 1_000)
    assertAppendedOnce(
      await readAllRows(survivors[0]!, "events"),
      all.map((s) => s.batch)
    )
    assertProfilesMerged(
      await readAllRows(survivors[1]!, "profiles"),
      all.flatMap((s, i) =>
        s.batch.operation === "upsert-batch" ? [{ batch: s.batch, sequence: jobs[i]!.sequence }] : []
      )
    )
  }, 180_000)
})
