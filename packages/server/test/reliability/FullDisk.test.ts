/**
 * SPEC §1.11, issue 15 case 2: a SQLite database on a disk that fills up and stays full for longer than a job's
 * ten tries used to last (about 50 s). Batches keep being sent (each resent with its key after a 503 until it is
 * accepted), the disk fills while accepted jobs wait in the queue, `/readyz` must say storage is down while the disk
 * is full, and once space is freed every acknowledged record must be stored exactly once: no job fails for the
 * storage's fault.
 *
 * While the test runs, it holds the database's WAL (see `holdWal`), so that a full disk leaves no room for any commit.
 *
 * The disk is a small tmpfs mounted for the test (`mount -t tmpfs`, which needs root); where mounting is not
 * permitted the test is skipped with a message saying so.
 */
import { execFileSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { appendBatch, assertAppendedOnce, awaitJob, type Batch, readAllRows } from "../process/Workload.js"
import { driverPath } from "../../src/storage/SqliteThread.js"
import { ServeProcess } from "../support/ServeProcess.js"
import { type Delivery, deliver, readiness } from "./Resending.js"

/** Longer than the ten tries with backoff (0.1 s doubling: about 51 s) after which a job used to fail. */
const fullForMillis = 60_000

const mountPoint = mkdtempSync(join(tmpdir(), "batchwrite-full-disk-"))

const mountTmpfs = (): string | undefined => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=128m", "tmpfs", mountPoint], { stdio: "pipe" })
    return undefined
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).trim()
  }
}

const mountRefused = mountTmpfs()
if (mountRefused !== undefined) {
  console.warn(`full-disk test SKIPPED: mounting a tmpfs is not permitted here (${mountRefused})`)
}

const servers: Array<ServeProcess> = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()))
  if (mountRefused === undefined) execFileSync("umount", ["-l", mountPoint])
  rmSync(mountPoint, { recursive: true, force: true })
})

/** Writes 1 MiB blocks to `file` until the disk has no room left; answers the bytes written. */
const fillDisk = (file: string): number => {
  const block = Buffer.alloc(1024 * 1024, 1)
  const fd = openSync(file, "w")
  let written = 0
  try {
    while (true) written += writeSync(fd, block)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error
  } finally {
    closeSync(fd)
  }
  // The last partial block.
  const small = openSync(`${file}.tail`, "w")
  try {
    while (true) written += writeSync(small, block.subarray(0, 4096))
  } catch {
    // full
  } finally {
    closeSync(small)
  }
  return written
}

/** Removes what {@link fillDisk} wrote. */
const freeDisk = (file: string): void => {
  rmSync(file)
  rmSync(`${file}.tail`)
}

interface Connection {
  pragma(source: string): unknown
  exec(source: string): void
  prepare(source: string): { get(): unknown }
  close(): void
}

const openDatabase = (file: string): Connection =>
  new (createRequire(import.meta.url)(driverPath()) as new (filename: string) => Connection)(file)

/**
 * Makes every commit to the SQLite database at `file` need new room on the disk, until the returned function is
 * called: the test empties the WAL and holds a read transaction begun on it. SQLite neither copies WAL pages into
 * the database file nor starts the WAL over while such a reader may need the file as it was, so every commit after
 * it appends to the WAL file. Without it, commits fitted for a while into a WAL started over at its beginning and
 * into the pages that deleted job bodies had freed inside the database: whether the workers met the full disk
 * depended on how much of the backlog was done when it filled (the test failed that way 1 run in 8).
 */
const holdWal = (file: string): (() => void) => {
  const reader = openDatabase(file)
  const [checkpoint] = reader.pragma("wal_checkpoint(TRUNCATE)") as Array<{ busy: number }>
  assert.strictEqual(checkpoint?.busy, 0, "the WAL was emptied")
  reader.exec("BEGIN")
  reader.prepare("SELECT count(*) FROM jobs").get()
  return () => {
    reader.exec("COMMIT")
    reader.close()
  }
}

/** How many jobs of the database at `file` are not done yet, as last committed. */
const jobsWaiting = (file: string): number => {
  const connection = openDatabase(file)
  try {
    return (connection.prepare("SELECT count(*) AS n FROM jobs WHERE state <> 'completed'").get() as { n: number }).n
  } finally {
    connection.close()
  }
}

/** Resolves once `count` of `promises` have resolved. */
const someResolved = (promises: ReadonlyArray<Promise<unknown>>, count: number): Promise<void> =>
  new Promise((resolve) => {
    let resolved = 0
    for (const promise of promises)
      promise.then(
        () => ++resolved === count && resolve(),
        () => {}
      )
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(mountRefused !== undefined)("sqlite on a disk that fills up", () => {
  it("keeps every acknowledged record: jobs wait while the disk is full, /readyz says storage is down", async () => {
    // Every batch queued (no inline apply): the jobs must wait in the queue while the disk is full.
    const server = await ServeProcess.start({
      database: `sqlite:${join(mountPoint, "batchwrite.db")}`,
      workers: 2,
      args: ["--inline-max-records", "0"]
    })
    servers.push(server)
    const deadline = Date.now() + 240_000
    const batches: Array<Batch> = []
    const nextBatch = (size: number) => {
      const batch = appendBatch("disk", batches.length, size, 20)
      batches.push(batch)
      return batch
    }
    const up = await readiness(server)
    assert.strictEqual(up.status, 200, JSON.stringify(up.body))
    const databaseFile = join(mountPoint, "batchwrite.db")
    const releaseWal = holdWal(databaseFile)

    // A backlog of accepted jobs (120,000 records take the workers a few seconds), then the disk fills while they
    // wait and while more batches keep coming: it fills once half of the backlog is acknowledged, the rest still
    // being sent. Should the workers have done every acknowledged job by then (a loaded machine answers the batches
    // late), the disk is freed and filled again behind a new backlog.
    const filler = join(mountPoint, "filler")
    const sending: Array<Promise<Delivery>> = []
    let filled = 0
    let waitingWhenFull = 0
    for (let backlog = 1; backlog <= 4 && waitingWhenFull === 0; backlog++) {
      if (filled > 0) freeDisk(filler)
      const backlogSent = Array.from({ length: 12 }, () => deliver(server, nextBatch(10_000), deadline))
      sending.push(...backlogSent)
      await Promise.race([someResolved(backlogSent, 6), Promise.all(backlogSent)])
      filled = fillDisk(filler)
      waitingWhenFull = jobsWaiting(databaseFile)
    }
    const fullUntil = Date.now() + fullForMillis
    const readyzWhileFull: Array<{ status: number; body: Record<string, unknown> }> = []
    const sender = (async () => {
      while (Date.now() < fullUntil) {
        const delivery = deliver(server, nextBatch(10_000), deadline)
        sending.push(delivery)
        await delivery
      }
    })()
    while (Date.now() < fullUntil) {
      readyzWhileFull.push(await readiness(server))
      await sleep(1_000)
    }
    releaseWal()
    freeDisk(filler)
    await sender
    const deliveries = await Promise.all(sending)

    const jobs = await Promise.all(deliveries.map((delivery) => awaitJob(server, "events", delivery.jobId, deadline)))
    const refusals = deliveries.flatMap((delivery) => delivery.refusals)
    // A worker meets the fault processing a group, or claiming one when the disk filled between two groups (it then
    // waits before claiming again).
    const faultsMet = (
      server.output.match(/job processing met a storage fault|claiming jobs met a storage fault/g) ?? []
    ).length
    console.log(
      `full disk: ${(filled / 1024 / 1024).toFixed(0)} MiB of filler, full for ${fullForMillis / 1000} s, ` +
        `${waitingWhenFull} jobs waiting when it filled; ` +
        `${batches.length} batches acknowledged after ${refusals.length} refusals ` +
        `(${[...new Set(refusals.map((r) => `${r.status} ${r.code}`))].join(", ")}); job workers met ${faultsMet} ` +
        `storage faults; /readyz while full: ${readyzWhileFull.map((r) => r.status).join(" ")}`
    )
    const notCompleted = jobs.filter((job) => job.state !== "completed")
    assert.deepStrictEqual(notCompleted, [], "every acknowledged job completes once the disk has room")
    assertAppendedOnce(await readAllRows(server, "events"), batches)
    assert.isAbove(waitingWhenFull, 0, "jobs were waiting when the disk filled")
    assert.isAbove(faultsMet, 0, "the disk filled while jobs waited: workers must have met storage faults")

    const down = readyzWhileFull.filter((r) => r.status === 503)
    assert.isAbove(down.length, readyzWhileFull.length / 2, "/readyz says not ready while the disk is full")
    const details = (down[0]!.body.error as { details: { checks: unknown; storage: string } }).details
    assert.deepStrictEqual(details.checks, { storage: "failing", workers: "ok" })
    assert.match(details.storage, /disk|full/)
    let ready = await readiness(server)
    while (ready.status !== 200 && Date.now() < deadline) {
      await sleep(500)
      ready = await readiness(server)
    }
    assert.strictEqual(ready.status, 200, `ready again once the disk has room: ${JSON.stringify(ready.body)}`)
    assert.strictEqual(await server.stop(), 0)
  }, 300_000)
})
