/**
 * Large and hostile bodies against a real `batchwrite serve` (SPEC §1.5, §1.11): ten concurrent bodies just under
 * the 10 MB limit are all accepted while small requests keep being answered (the peak RSS of the server is
 * measured from `/proc/<pid>/status` and printed); a gzip bomb, truncated and malformed bodies, absurd nesting and
 * slow clients each get a clear answer, leave nothing behind, and the service goes on serving.
 */
import { connect } from "node:net"
import { gzipSync } from "node:zlib"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { forEachProcessAdapter } from "../support/Adapters.js"
import { ServeProcess } from "../support/ServeProcess.js"
import { appendBatch, awaitJob, NOW, postBatch } from "./Workload.js"

const maxBodyBytes = 10_485_760
const mib = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(0)} MiB`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const servers: Array<ServeProcess> = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()))
})

/** Samples the server's VmRSS every 20 ms until stopped; answers the highest sample. */
const sampleRss = (server: ServeProcess) => {
  let peak = server.rssBytes() ?? 0
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rssBytes() ?? 0)
  }, 20)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, server.rssBytes() ?? 0)
    }
  }
}

/** A POST of raw bytes to append-batch. */
const postRaw = async (server: ServeProcess, body: Uint8Array | string, headers: Record<string, string> = {}) => {
  const response = await server.fetch("/public/v1/records/events/append-batch", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body
  })
  const text = await response.text()
  let json: { success?: boolean; error?: { code?: string; message?: string; details?: unknown } } = {}
  try {
    json = JSON.parse(text)
  } catch {
    // asserted on below
  }
  return { status: response.status, text, json, headers: response.headers }
}

const assertEnvelope = (
  answer: Awaited<ReturnType<typeof postRaw>>,
  status: number,
  code: string,
  what: string
): void => {
  assert.strictEqual(answer.status, status, `${what}: ${answer.text.slice(0, 300)}`)
  assert.strictEqual(answer.json.success, false, `${what}: error envelope`)
  assert.strictEqual(answer.json.error?.code, code, `${what}: ${answer.text.slice(0, 300)}`)
  assert.isNotEmpty(answer.json.error?.message, `${what}: a message`)
}

const assertServing = async (server: ServeProcess, what: string) => {
  const health = await server.fetch("/healthz", { signal: AbortSignal.timeout(5_000) })
  assert.strictEqual(health.status, 200, `healthz after ${what}`)
  const small = await postBatch(server, appendBatch(`after-${what.replace(/\W+/g, "-")}`, 0, 1))
  assert.strictEqual(small.status, 202, `a small append after ${what}: ${small.text}`)
  return small
}

/** The `sequence` of a job by its answer. */
const sequenceOf = async (server: ServeProcess, jobId: string) => {
  const response = await server.fetch(`/public/v1/records/events/jobs/${jobId}`)
  return (JSON.parse(await response.text()) as { data: { sequence: number } }).data.sequence
}

forEachProcessAdapter((adapter) => {
  describe("batchwrite serve under large and hostile bodies", () => {
    it("accepts ten concurrent ~10 MB batches while small requests keep being answered", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter })
      servers.push(server)
      // 10,000 records of ~1 KB: pad each record so the body lands just under the limit.
      const probe = appendBatch("mem", 0, 10_000, 900)
      const pad = 900 + Math.floor((maxBodyBytes - 4_000 - probe.body.length) / 10_000)
      const batches = Array.from({ length: 10 }, (_, i) => appendBatch(`mem${i}`, i, 10_000, pad))
      for (const batch of batches) {
        assert.isAtMost(Buffer.byteLength(batch.body), maxBodyBytes)
        assert.isAbove(Buffer.byteLength(batch.body), maxBodyBytes - 50_000)
      }
      const baseline = server.rssBytes()
      const rss = sampleRss(server)
      const started = Date.now()
      let loadDone = false
      const load = Promise.all(batches.map((batch) => postBatch(server, batch))).finally(() => {
        loadDone = true
      })
      const probes: Array<{ what: string; status: number; ms: number; duringLoad: boolean }> = []
      while (!loadDone) {
        for (const what of ["healthz", "append"] as const) {
          const t0 = Date.now()
          const status =
            what === "healthz"
              ? (await server.fetch("/healthz", { signal: AbortSignal.timeout(20_000) })).status
              : (await postBatch(server, appendBatch("probe", probes.length, 2))).status
          probes.push({ what, status, ms: Date.now() - t0, duringLoad: !loadDone })
        }
        await sleep(50)
      }
      const answers = await load
      const acceptedIn = Date.now() - started
      answers.forEach((answer, i) => {
        assert.strictEqual(answer.status, 202, `batch ${i}: ${answer.text.slice(0, 300)}`)
      })
      const peakAccepting = rss.stop()

      const rssJobs = sampleRss(server)
      const deadline = Date.now() + 60_000
      const jobs = await Promise.all(answers.map((answer) => awaitJob(server, "events", answer.jobId!, deadline)))
      const peakProcessing = rssJobs.stop()
      const hwm = server.peakRssBytes()
      for (const job of jobs) {
        assert.strictEqual(job.state, "completed", JSON.stringify(job))
        assert.strictEqual(job.metrics.insertedRows, 10_000)
      }
      const during = probes.filter((p) => p.duringLoad)
      console.log(
        `memory test: 10 x ${(Buffer.byteLength(batches[0]!.body) / 1e6).toFixed(2)} MB accepted in ${acceptedIn} ms ` +
          `and processed in ${Date.now() - started} ms; server RSS baseline ${mib(baseline)}, peak while accepting ` +
          `${mib(peakAccepting)}, peak while processing ${mib(peakProcessing)}, VmHWM ${mib(hwm)} (sampled every 20 ms ` +
          `from /proc/${server.pid}/status); ${during.length} probes answered during the load, slowest ` +
          `healthz ${Math.max(0, ...during.filter((p) => p.what === "healthz").map((p) => p.ms))} ms, slowest small ` +
          `append ${Math.max(0, ...during.filter((p) => p.what === "append").map((p) => p.ms))} ms`
      )
      assert.deepStrictEqual(
        probes.filter((p) => p.status !== (p.what === "healthz" ? 200 : 202)),
        [],
        "every probe is answered"
      )
      assert.isAtLeast(
        during.filter((p) => p.what === "append").length,
        1,
        "no small append was answered during the load"
      )
      assert.isTrue(server.running, "the server is still up")
      await assertServing(server, "the load")
      assert.strictEqual(await server.stop(), 0)
    }, 90_000)

    it("answers bad input with clear envelopes, keeps nothing of it, and goes on serving", async () => {
      const server = await ServeProcess.start({ workers: 2, adapter })
      servers.push(server)
      const before = await assertServing(server, "start")

      // A gzip bomb: 1 GiB of zeros as ~1 MB of gzip (16 members of 64 MiB each, a valid gzip stream).
      const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })
      const bomb = Buffer.concat(Array.from({ length: 16 }, () => member))
      const baseline = server.rssBytes()
      const rss = sampleRss(server)
      const exploded = await postRaw(server, bomb, { "content-encoding": "gzip" })
      const bombPeak = rss.stop()
      assertEnvelope(exploded, 413, "CDP_ETL.REQUEST.PAYLOAD_TOO_LARGE", "gzip bomb")
      assert.strictEqual((exploded.json.error?.details as { limit?: number }).limit, maxBodyBytes)
      console.log(
        `gzip bomb: ${(bomb.length / 1e6).toFixed(2)} MB -> 1 GiB answered 413; server RSS ${mib(baseline)} before, ` +
          `${mib(bombPeak)} at most while decoding`
      )
      assert.isBelow(bombPeak - (baseline ?? 0), 256 * 1024 * 1024, "decoding the bomb grew the server by 256 MiB+")
      const afterBomb = await assertServing(server, "a gzip bomb")

      const corruptGzip = gzipSync(Buffer.from(JSON.stringify({ records: [{ event: "e", occurred_at: NOW }] })))
      assertEnvelope(
        await postRaw(server, corruptGzip.subarray(0, corruptGzip.length - 12), { "content-encoding": "gzip" }),
        400,
        "CDP_ETL.VALIDATION.REQUEST_INVALID",
        "a truncated gzip body"
      )
      assertEnvelope(
        await postRaw(server, '{"records":[{"event":"e","occurred_at":"2026-04-21T15:'),
        400,
        "CDP_ETL.VALIDATION.REQUEST_INVALID",
        "a truncated JSON body"
      )
      assertEnvelope(
        await postRaw(server, '{"records":[{"event":"e",}]}'),
        400,
        "CDP_ETL.VALIDATION.REQUEST_INVALID",
        "malformed JSON"
      )
      assertEnvelope(await postRaw(server, "\u0000\u0001garbage"), 400, "CDP_ETL.VALIDATION.REQUEST_INVALID", "binary")
      const deep = 100_000
      assertEnvelope(
        await postRaw(server, `${"[".repeat(deep)}${"]".repeat(deep)}`),
        400,
        "CDP_ETL.VALIDATION.REQUEST_INVALID",
        "a 100,000-deep array as the body"
      )
      assertEnvelope(
        await postRaw(server, `{"records":[{"event":"e","occurred_at":"${NOW}","properties":${'{"a":'.repeat(deep)}`),
        400,
        "CDP_ETL.VALIDATION.REQUEST_INVALID",
        "100,000 unclosed objects"
      )

      // A body cut off by the client dropping the connection, and slow clients that never finish their headers.
      await new Promise<void>((resolve, reject) => {
        const socket = connect(server.port, "127.0.0.1", () => {
          socket.write(
            "POST /public/v1/records/events/append-batch HTTP/1.1\r\nHost: x\r\n" +
              `Authorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n` +
              `{"records":[${`{"event":"e","occurred_at":"${NOW}"},`.repeat(100)}`
          )
          setTimeout(() => {
            socket.destroy()
            resolve()
          }, 100)
        })
        socket.on("error", reject)
      })
      const slow = Array.from({ length: 20 }, () => {
        const socket = connect(server.port, "127.0.0.1", () =>
          socket.write("POST /public/v1/records/events/append-batch HTTP/1.1\r\nHost: x\r\n")
        )
        socket.on("error", () => {})
        return socket
      })
      await sleep(100)
      const after = await assertServing(server, "malformed bodies, a dropped upload and slow clients")
      for (const socket of slow) socket.destroy()
      assert.strictEqual(
        (await sequenceOf(server, after.jobId!)) - (await sequenceOf(server, before.jobId!)),
        2,
        "a rejected request queued a job (only the gzip-bomb check's small append lies between)"
      )
      const deadline = Date.now() + 20_000
      for (const answer of [before, afterBomb, after]) await awaitJob(server, "events", answer.jobId!, deadline)
      const stored = await server.fetch("/public/v1/records/events?limit=1000")
      const rows = (JSON.parse(await stored.text()) as { data: { records: Array<{ event: string }> } }).data.records
      assert.deepStrictEqual(
        rows.map((row) => row.event),
        ["page_view", "page_view", "page_view"],
        "only the three small appends are stored"
      )

      // A 100,000-deep value in a `json` field: refused at once (400), or accepted and rejected as that row's error
      // (SPEC §1.1: json depth ≤ 32). Either way the job must not fail and the service must go on.
      const nested = await postRaw(
        server,
        `{"records":[{"event":"deep","occurred_at":"${NOW}","properties":${"[".repeat(deep)}${"]".repeat(deep)}}]}`,
        { prefer: "wait=10" }
      )
      if (nested.status !== 400) {
        assert.strictEqual(nested.status, 200, nested.text.slice(0, 300))
        const job = (nested.json as unknown as { data: { state: string; failure?: unknown; errors: Array<unknown> } })
          .data
        assert.strictEqual(
          job.state,
          "completed",
          `a record nested 100,000 deep in a json field must be that row's error, not a failed job: ${JSON.stringify(job.failure)}`
        )
        const error = job.errors[0] as { code?: string; pointer?: string } | undefined
        assert.deepStrictEqual(
          { code: error?.code, pointer: error?.pointer },
          { code: "CDP_ETL.VALIDATION.REQUEST_INVALID", pointer: "/records/0/properties" }
        )
      } else {
        assertEnvelope(nested, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID", "a 100,000-deep json field")
      }
      await assertServing(server, "a 100,000-deep json field")

      // A record that is a 100,000-deep array is not an object: that row's error, as any record that is not an
      // object; the job completes and the service goes on.
      const deepRecord = await postRaw(server, `{"records":[${"[".repeat(deep)}${"]".repeat(deep)}]}`, {
        prefer: "wait=10"
      })
      assert.strictEqual(deepRecord.status, 200, deepRecord.text.slice(0, 300))
      const deepJob = (
        deepRecord.json as unknown as { data: { state: string; errors: Array<{ code?: string; pointer?: string }> } }
      ).data
      assert.strictEqual(deepJob.state, "completed")
      assert.deepStrictEqual(
        { code: deepJob.errors[0]?.code, pointer: deepJob.errors[0]?.pointer },
        { code: "CDP_ETL.VALIDATION.REQUEST_INVALID", pointer: "/records/0" }
      )
      await assertServing(server, "a 100,000-deep array as a record")
      assert.strictEqual(await server.stop(), 0)
    }, 60_000)
  })
})
