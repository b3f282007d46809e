/**
 * Admission control against a real `batchwrite serve` (SPEC §1.11; issue 15 case 5, issue 13's backpressure):
 *
 * - a flood of concurrent ~10 MB bodies (issue 15 saw 400 of them take 6.7 GB and `/healthz` stall for 110 s; 12
 *   here, against room for three; the full 400 is `pnpm flood`, outside CI): writes beyond the in-flight bound are
 *   answered 503 with `Retry-After` before their body is read, the server stays under a memory bound, `/healthz` keeps
 *   answering, and every batch a client resent until its 202 is stored exactly once;
 * - a workspace sending faster than its jobs commit: beyond the backlog bound its writes are refused with a
 *   `Retry-After` from the drain rate; a client that waits it out loses nothing, and the backlog stays within the
 *   bound plus the batches in flight at once.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { forEachProcessAdapter } from "../support/Adapters.js"
import { ServeProcess } from "../support/ServeProcess.js"
import { appendBatch, assertAppendedOnce, awaitJob, type Batch, readAllRows } from "../process/Workload.js"
import { deliver, readiness } from "./Resending.js"

const maxBodyBytes = 10_485_760
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const servers: Array<ServeProcess> = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()))
})

/** Runs `probe` every `everyMs` until `done()`; answers the results. */
const probeUntil = async <A>(done: () => boolean, everyMs: number, probe: () => Promise<A>): Promise<Array<A>> => {
  const results: Array<A> = []
  while (!done()) {
    results.push(await probe())
    await sleep(everyMs)
  }
  return results
}

/** `size` upserts of profiles no other batch touches (each record inserted once), keyed by batch and index. */
const freshProfiles = (index: number, size: number): Batch => {
  const records = Array.from({ length: size }, (_, i) => ({ email: `b${index}-${i}@backlog.example`, tier: "t" }))
  return {
    operation: "upsert-batch",
    object: "profiles",
    key: `backlog-${index}`,
    records,
    body: JSON.stringify({ records, matchKey: "email" })
  }
}

forEachProcessAdapter((adapter) => {
  const serve = async (workers: number, args: ReadonlyArray<string>) => {
    const server = await ServeProcess.start({ adapter, workers, args })
    servers.push(server)
    return server
  }

  describe("admission control", () => {
    it("12 concurrent ~10 MB bodies: bounded memory, /healthz answered, every acknowledged record stored once", async () => {
      // Room for three bodies at once: most of the flood is refused at first.
      const inFlightMib = 32
      const server = await serve(2, ["--max-in-flight-mib", String(inFlightMib)])
      const clients = 12
      // 10,000 records padded so that each body lands just under the 10 MB limit.
      const probe = appendBatch(`flood${clients}`, clients, 10_000, 900)
      const pad = 900 + Math.floor((maxBodyBytes - 4_000 - probe.body.length) / 10_000)
      const deadline = Date.now() + 240_000
      const baseline = server.rssBytes() ?? 0
      let peakRss = baseline
      let flooding = true
      const rssTimer = setInterval(() => {
        peakRss = Math.max(peakRss, server.rssBytes() ?? 0)
      }, 20)
      const batches = Array.from({ length: clients }, (_, i) => appendBatch(`flood${i}`, i, 10_000, pad))
      const flood = Promise.all(batches.map((batch) => deliver(server, batch, deadline))).finally(() => {
        flooding = false
      })
      const health = probeUntil(
        () => !flooding,
        200,
        async () => {
          const started = Date.now()
          try {
            const response = await server.fetch("/healthz", { signal: AbortSignal.timeout(20_000) })
            await response.text()
            return { status: response.status, ms: Date.now() - started }
          } catch (error) {
            return { status: 0, ms: Date.now() - started, error: String(error) }
          }
        }
      )
      const deliveries = await flood
      const probes = await health
      clearInterval(rssTimer)

      const refusals = deliveries.flatMap((delivery) => delivery.refusals)
      const jobs = await Promise.all(deliveries.map((delivery) => awaitJob(server, "events", delivery.jobId, deadline)))
      console.log(
        `flood (${adapter}): ${clients} x ${(Buffer.byteLength(batches[0]!.body) / 1e6).toFixed(2)} MB with ` +
          `--max-in-flight-mib ${inFlightMib}: ${refusals.length} refusals before acceptance ` +
          `(${[...new Set(refusals.map((r) => `${r.status} ${r.code}`))].join(", ")}); server RSS ${mib(baseline)} ` +
          `at start, ${mib(peakRss)} at most (sampled every 20 ms); ${probes.length} /healthz probes, slowest ` +
          `${Math.max(...probes.map((p) => p.ms))} ms`
      )
      assert.deepStrictEqual(
        jobs.filter((job) => job.state !== "completed"),
        [],
        "every acknowledged batch completes"
      )
      assertAppendedOnce(await readAllRows(server, "events"), batches)
      assert.isAbove(refusals.length, 0, "the in-flight bound refused some of the flood")
      assert.deepStrictEqual(
        probes.filter((p) => p.status !== 200),
        [],
        "/healthz answers throughout"
      )
      assert.isAtLeast(probes.length, 3, "/healthz was probed during the flood")
      assert.isBelow(peakRss, 1536 * 1024 * 1024, "the server stays under 1.5 GiB with 32 MiB of bodies in flight")
      const metrics = await (await server.fetch("/metrics")).text()
      assert.match(metrics, /batchwrite_admission_max_in_flight_body_bytes 33554432/)
      assert.match(metrics, /batchwrite_admission_refused_total\{bound="in-flight-body-bytes"\} [1-9]/)
      assert.strictEqual(await server.stop(), 0)
    }, 300_000)

    it("a backlog over its bound refuses writes with Retry-After; a client waiting it out loses nothing", async () => {
      const bound = 5_000
      const batchSize = 2_000
      const concurrency = 8
      const server = await serve(1, ["--max-backlog-records", String(bound)])
      const deadline = Date.now() + 240_000
      const ready = await readiness(server)
      assert.strictEqual(ready.status, 200)
      assert.strictEqual(
        (ready.body.data as { admission: { maxBacklogRecords: number } }).admission.maxBacklogRecords,
        bound
      )

      // 48,000 records against a bound of 5,000: the bound refuses many times over.
      const batches = Array.from({ length: 24 }, (_, i) => freshProfiles(i, batchSize))
      let next = 0
      let sending = true
      const client = async () => {
        const delivered = []
        while (next < batches.length) delivered.push(await deliver(server, batches[next++]!, deadline))
        return delivered
      }
      const load = Promise.all(Array.from({ length: concurrency }, client)).finally(() => {
        sending = false
      })
      const backlogs = probeUntil(
        () => !sending,
        100,
        async () =>
          ((await readiness(server)).body.data as { admission: { backlogRecords: Record<string, number> } }).admission
            .backlogRecords.default ?? 0
      )
      const deliveries = (await load).flat()
      const seen = await backlogs

      const refusals = deliveries.flatMap((delivery) => delivery.refusals)
      const jobs = await Promise.all(
        deliveries.map((delivery) => awaitJob(server, "profiles", delivery.jobId, deadline))
      )
      console.log(
        `backlog (${adapter}): bound ${bound} records, ${concurrency} clients x ${batchSize}-record upserts: ` +
          `${refusals.length} refusals (Retry-After ${[...new Set(refusals.map((r) => r.retryAfter))].join(", ")} s), ` +
          `backlog at most ${Math.max(...seen)} records over ${seen.length} samples`
      )
      assert.deepStrictEqual(
        jobs.filter((job) => job.state !== "completed"),
        [],
        "every acknowledged batch completes"
      )
      const rows = await readAllRows(server, "profiles")
      const emails = new Set(rows.map((row) => String(row.email)))
      assert.strictEqual(rows.length, batches.length * batchSize, "one row per upserted record")
      assert.strictEqual(emails.size, rows.length, "no record stored twice")
      assert.isAbove(
        refusals.filter((r) => r.code === "CDP_ETL.SERVER.UNAVAILABLE").length,
        0,
        "the backlog bound refused writes"
      )
      assert.isAtMost(
        Math.max(...seen),
        bound + concurrency * batchSize,
        "the backlog stays within its bound plus the batches in flight at once"
      )
      const metrics = await (await server.fetch("/metrics")).text()
      assert.match(metrics, /batchwrite_admission_refused_total\{bound="backlog-records"\} [1-9]/)
      assert.match(metrics, /batchwrite_admission_max_backlog_records 5000/)
      assert.strictEqual(await server.stop(), 0)
    }, 300_000)
  })
})
