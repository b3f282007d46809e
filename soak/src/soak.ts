/**
 * The soak of issue 15, run by hand (outside CI): `pnpm soak` starts a built `batchwrite serve` (SQLite; `--postgres`
 * for a fresh PostgreSQL database) and drives it for 10 minutes (`--minutes N`) with a mix of what users send:
 * small and large append batches, upsert batches that merge partial records into a shared pool of profiles, single
 * writes (appends, and upserts through the queue), reads (pages, filters, jobs, /readyz), resends of accepted batches
 * with their `Idempotency-Key`, and bad requests (malformed JSON, unknown fields and objects, wrong content type,
 * `;` paths, bad tokens). Every write is resent with its key after a `503`, `409` or `429` (after `Retry-After`) or a
 * dropped connection, until it is answered.
 *
 * Every few seconds (`--sample-seconds 5`) it samples the server's RSS, open file descriptors, queue depth and
 * `/metrics` size. At the end it waits for the queue to drain, then checks that every accepted record is stored
 * exactly once (appends by their unique ids; profiles equal to applying every accepted upsert in `sequence` order)
 * and prints each sample series' trend: the slope of a least-squares line over the second half. It exits 1 when RSS,
 * file descriptors or `/metrics` size keep growing beyond their tolerance, when a record is missing, doubled or
 * merged out of order, when a job failed, or when an answer was not the one expected.
 */
import { parseArgs } from "node:util"
import { runMain, verdict, withServer } from "./Verdict.js"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { type Answer, send, sleep } from "./Http.js"
import { awaitEmptyQueue, streamRows } from "./Rows.js"
import { type Sample, sample } from "./Sampler.js"
import { keepsGrowing, type Tolerance, type Trend, trendOf } from "./Trend.js"

const { values: options } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    postgres: { type: "boolean", default: false },
    clients: { type: "string", default: "6" },
    "sample-seconds": { type: "string", default: "5" },
    "pause-ms": { type: "string", default: "10" },
    workers: { type: "string", default: "2" }
  },
  strict: true
})

const minutes = Number(options.minutes)
const clientCount = Number(options.clients)
const pauseMs = Number(options["pause-ms"])
const sampleEvery = Number(options["sample-seconds"]) * 1000

/** The tolerances of growth over the second half of the run (both must be passed to fail). */
const tolerances: Record<"rssBytes" | "fds" | "metricsBytes", Tolerance> = {
  rssBytes: { absolute: 64 * 1024 * 1024, relative: 0.1 },
  fds: { absolute: 16, relative: 0.1 },
  metricsBytes: { absolute: 2_048, relative: 0.02 }
}

const NOW = "2026-04-21T15:00:00Z"
const profilePool = 2_000

/** A small deterministic generator, so that upsert batches can be rebuilt for the check instead of kept. */
const random = (seed: number) => {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4_294_967_296
  }
}

type Row = Record<string, unknown>

/** The records of upsert batch `seed`: partial updates of the shared pool, some fields set, some nulled. */
const upsertRecords = (seed: number, size: number): Array<Row> => {
  const next = random(seed)
  return Array.from({ length: size }, (_, i) => {
    const record: Row = { email: `p${Math.floor(next() * profilePool)}@pool.example`, tier: `t${seed}-${i}` }
    const roll = next()
    if (roll < 0.3) record.first_name = `F${seed}-${i}`
    else if (roll < 0.4) record.first_name = null
    if (next() < 0.2) record.attributes = { seed, i, tags: [seed % 7, i % 5] }
    if (next() < 0.1) record.last_seen_at = `2026-04-${String(1 + (seed % 28)).padStart(2, "0")}T10:00:00Z`
    return record
  })
}

interface AppendBatch {
  readonly prefix: string
  readonly count: number
  readonly jobId: string
}
interface UpsertBatch {
  readonly seed: number
  readonly size: number
  readonly jobId: string
}

const state = {
  appends: [] as Array<AppendBatch>,
  upserts: [] as Array<UpsertBatch>,
  singleAppends: new Set<string>(),
  /** Client-private profiles written by single upserts, one client each, in the order the client wrote them. */
  singleProfiles: new Map<string, Row>(),
  accepted: { byKey: new Map<string, { readonly path: string; readonly body: string; readonly jobId: string }>() },
  requests: 0,
  answers: new Map<string, number>(),
  unexpected: [] as Array<string>,
  retries: 0
}

/**
 * Keeps an accepted batch to resend with its key later: small bodies only, the last 1,000 (kept bodies are the load
 * generator's memory: a 10-minute run ran it out of heap when it kept them all).
 */
const remember = (key: string, sent: { readonly path: string; readonly body: string; readonly jobId: string }) => {
  if (sent.body.length > 64 * 1024) return
  state.accepted.byKey.set(key, sent)
  if (state.accepted.byKey.size > 1_000) state.accepted.byKey.delete(state.accepted.byKey.keys().next().value!)
}

const count = (label: string) => state.answers.set(label, (state.answers.get(label) ?? 0) + 1)
const unexpected = (what: string, answer: Answer) => {
  if (state.unexpected.length < 50) state.unexpected.push(`${what}: ${answer.status} ${answer.text.slice(0, 200)}`)
  count(`UNEXPECTED ${what} ${answer.status}`)
}

const main = async () => {
  const server = await ServeProcess.start({
    adapter: options.postgres ? "postgres" : "sqlite",
    workers: Number(options.workers),
    rateLimit: 100_000,
    output: "files"
  })
  const { origin, token } = server
  const call = (options: Parameters<typeof send>[2], as = token) => {
    state.requests++
    return send(origin, as, options)
  }

  /** Sends a write until it is answered other than 503/409/429 or a dropped connection; answers that answer. */
  const write = async (path: string, body: string, key: string | undefined): Promise<Answer> => {
    while (true) {
      try {
        const answer = await call({
          method: "POST",
          path,
          body,
          headers: key === undefined ? {} : { "idempotency-key": key },
          timeoutMs: 120_000
        })
        if (answer.status !== 503 && answer.status !== 409 && answer.status !== 429) return answer
        count(`retried after ${answer.status}`)
        state.retries++
        await sleep((answer.retryAfter ?? 1) * 1000)
      } catch {
        count("retried after a network error")
        state.retries++
        await sleep(200)
      }
    }
  }

  const appendBatch = async (client: number, n: number, size: number, pad: number) => {
    const prefix = `b${client}-${n}`
    const records = Array.from({ length: size }, (_, i) => ({
      session_id: `${prefix}-${i}`,
      event: pad > 0 ? "p".repeat(pad) : "page_view",
      occurred_at: NOW,
      user_id: `u${i % 23}`,
      properties: i % 3 === 0 ? { i, n } : null
    }))
    const path = "/public/v1/records/events/append-batch"
    const body = JSON.stringify({ records })
    const answer = await write(path, body, `soak-${prefix}`)
    if (answer.status !== 202) return unexpected("append batch", answer)
    count(size > 1_000 ? "202 large append" : "202 small append")
    const jobId = JSON.parse(answer.text).data.jobId as string
    state.appends.push({ prefix, count: size, jobId })
    remember(`soak-${prefix}`, { path, body, jobId })
  }

  const upsertBatch = async (client: number, n: number, size: number) => {
    const seed = client * 1_000_000 + n
    const path = "/public/v1/records/profiles/upsert-batch"
    const body = JSON.stringify({ records: upsertRecords(seed, size), matchKey: "email" })
    const answer = await write(path, body, `soak-u${seed}`)
    if (answer.status !== 202) return unexpected("upsert batch", answer)
    count("202 upsert")
    const jobId = JSON.parse(answer.text).data.jobId as string
    state.upserts.push({ seed, size, jobId })
    remember(`soak-u${seed}`, { path, body, jobId })
  }

  const singleAppend = async (client: number, n: number) => {
    const id = `s${client}-${n}`
    const answer = await write(
      "/public/v1/records/events",
      JSON.stringify({ session_id: id, event: "single", occurred_at: NOW }),
      `soak-${id}`
    )
    if (answer.status !== 201 && answer.status !== 202) return unexpected("single append", answer)
    count(`${answer.status} single append`)
    state.singleAppends.add(id)
  }

  const singleUpsert = async (client: number, n: number) => {
    const email = `c${client}-${n % 40}@single.example`
    const record: Row = { email, tier: `single-${n}` }
    if (n % 3 === 0) record.last_name = n % 2 === 0 ? null : `L${n}`
    const answer = await write(
      "/public/v1/records/profiles?mode=upsert",
      JSON.stringify({ record, matchKey: "email" }),
      `soak-su${client}-${n}`
    )
    if (![200, 201, 202].includes(answer.status)) return unexpected("single upsert", answer)
    count(`${answer.status} single upsert`)
    state.singleProfiles.set(email, { ...(state.singleProfiles.get(email) ?? {}), ...record })
  }

  const resend = async () => {
    const keys = [...state.accepted.byKey.keys()]
    if (keys.length === 0) return
    const key = keys[Math.floor(Math.random() * keys.length)]!
    const first = state.accepted.byKey.get(key)!
    const answer = await write(first.path, first.body, key)
    if (answer.status !== 202 || !answer.replayed || JSON.parse(answer.text).data.jobId !== first.jobId) {
      return unexpected("resend with the same key", answer)
    }
    count("202 replayed")
  }

  const read = async (client: number) => {
    const roll = Math.random()
    const last = state.appends[state.appends.length - 1]
    const [what, options] =
      roll < 0.35
        ? ["page", { method: "GET", path: "/public/v1/records/events?limit=100" }]
        : roll < 0.6
          ? ["filter", { method: "GET", path: `/public/v1/records/profiles?email=p${client}@pool.example` }]
          : roll < 0.85 && last !== undefined
            ? ["job", { method: "GET", path: `/public/v1/records/events/jobs/${last.jobId}` }]
            : ["readyz", { method: "GET", path: "/readyz" }]
    const answer = await call(options as Parameters<typeof send>[2])
    if (answer.status !== 200 && !(what === "readyz" && answer.status === 503))
      return unexpected(`read ${what}`, answer)
    count(`${answer.status} read ${what}`)
  }

  const bad = async () => {
    const cases: Array<[string, Parameters<typeof send>[2], number, string?]> = [
      [
        "malformed JSON",
        { method: "POST", path: "/public/v1/records/events/append-batch", body: '{"records":[{' },
        400
      ],
      [
        "unknown field",
        { method: "POST", path: "/public/v1/records/events/append-batch", body: '{"records":[{"nope":1}]}' },
        400
      ],
      [
        "unknown object",
        { method: "POST", path: "/public/v1/records/nothing/append-batch", body: '{"records":[{}]}' },
        404
      ],
      [
        "wrong content type",
        {
          method: "POST",
          path: "/public/v1/records/events/append-batch",
          body: "records",
          headers: { "content-type": "text/plain" }
        },
        415
      ],
      ["';' path", { method: "POST", path: "/public/v1/records/events;x/append-batch", body: '{"records":[{}]}' }, 400],
      ["unknown route", { method: "GET", path: `/nowhere/${Math.random().toString(36).slice(2)}` }, 404],
      ["bad token", { method: "GET", path: "/public/v1/records/events?limit=1" }, 401, "not-a-token"]
    ]
    const [what, request, status, as] = cases[Math.floor(Math.random() * cases.length)]!
    const answer = await call(request, as ?? token)
    if (answer.status !== status) return unexpected(`bad request (${what})`, answer)
    count(`${status} ${what}`)
  }

  const client = async (id: number, until: number) => {
    let n = 0
    while (Date.now() < until) {
      n++
      const roll = Math.random()
      if (roll < 0.31) await appendBatch(id, n, 1 + Math.floor(Math.random() * 50), 0)
      else if (roll < 0.34) await appendBatch(id, n, 2_000 + Math.floor(Math.random() * 8_000), 150)
      else if (roll < 0.342) await appendBatch(id, n, 10_000, 900)
      else if (roll < 0.53) await upsertBatch(id, n, 10 + Math.floor(Math.random() * 990))
      else if (roll < 0.63) await singleAppend(id, n)
      else if (roll < 0.7) await singleUpsert(id, n)
      else if (roll < 0.85) await read(id)
      else if (roll < 0.9) await resend()
      else await bad()
      await sleep(pauseMs)
    }
  }

  const samples: Array<Sample> = []
  return withServer(server, async () => {
    const startedAt = Date.now()
    const until = startedAt + minutes * 60_000
    console.log(
      `soak: ${minutes} min of mixed load from ${clientCount} clients against batchwrite serve ` +
        `(${options.postgres ? "postgres" : "sqlite"}, pid ${server.pid}); a sample every ${sampleEvery / 1000} s`
    )
    console.log("     t   rss MiB   fds   queue   /metrics B   requests")
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const taken = await sample(server.pid, origin, token, startedAt)
        samples.push(taken)
        console.log(
          `${taken.t.toFixed(0).padStart(6)}   ${(taken.rssBytes / 1024 / 1024).toFixed(0).padStart(7)}   ` +
            `${String(taken.fds).padStart(3)}   ${String(taken.queueDepth).padStart(5)}   ` +
            `${String(taken.metricsBytes).padStart(10)}   ${state.requests}`
        )
        await sleep(sampleEvery)
      }
    })()
    await Promise.all(Array.from({ length: clientCount }, (_, id) => client(id, until)))
    sampling = false
    await sampler
    const drained = await awaitEmptyQueue(origin, token, 600_000)
    console.log(`load done after ${state.requests} requests (${state.retries} resent); queue drained: ${drained}`)

    // Every accepted batch's job: completed, and the upserts' sequences.
    const sequences = new Map<string, number>()
    const failedJobs: Array<string> = []
    const jobs = [
      ...state.appends.map((b) => ({ object: "events", jobId: b.jobId })),
      ...state.upserts.map((b) => ({ object: "profiles", jobId: b.jobId }))
    ]
    for (let i = 0; i < jobs.length; i += 16) {
      await Promise.all(
        jobs.slice(i, i + 16).map(async ({ object, jobId }) => {
          const answer = await call({ method: "GET", path: `/public/v1/records/${object}/jobs/${jobId}` })
          const job = JSON.parse(answer.text).data as { state: string; sequence: number }
          if (job.state !== "completed") failedJobs.push(`${jobId} ${job.state}`)
          sequences.set(jobId, job.sequence)
        })
      )
    }

    // Appends: each accepted record once.
    const perBatch = new Map(state.appends.map((b) => [b.prefix, new Uint8Array(b.count)]))
    const singles = new Map<string, number>()
    let foreign = 0
    const eventRows = await streamRows(origin, token, "events", (line) => {
      const id = /"session_id":"([^"]+)"/.exec(line)?.[1] ?? ""
      const batch = /^(b\d+-\d+)-(\d+)$/.exec(id)
      if (batch !== null) {
        const counts = perBatch.get(batch[1]!)
        if (counts === undefined || Number(batch[2]) >= counts.length) foreign++
        else counts[Number(batch[2])]! += 1
      } else if (state.singleAppends.has(id)) singles.set(id, (singles.get(id) ?? 0) + 1)
      else foreign++
    })
    let missing = 0
    let doubled = 0
    for (const counts of perBatch.values()) {
      for (const c of counts) {
        if (c === 0) missing++
        if (c > 1) doubled++
      }
    }
    for (const id of state.singleAppends) {
      const c = singles.get(id) ?? 0
      if (c === 0) missing++
      if (c > 1) doubled++
    }

    // Profiles: the accepted upserts applied one by one in sequence order; the single upserts in each client's order.
    const expected = new Map<string, Row>(state.singleProfiles)
    for (const batch of [...state.upserts].sort((a, b) => sequences.get(a.jobId)! - sequences.get(b.jobId)!)) {
      for (const record of upsertRecords(batch.seed, batch.size)) {
        const email = String(record.email)
        expected.set(email, { ...(expected.get(email) ?? {}), ...record })
      }
    }
    const fields = ["tier", "first_name", "last_name", "attributes", "last_seen_at"]
    let wrongProfiles = 0
    const seen = new Set<string>()
    const profileRows = await streamRows(origin, token, "profiles", (line) => {
      const row = JSON.parse(line) as Row
      const email = String(row.email)
      seen.add(email)
      const want = expected.get(email)
      if (want === undefined || fields.some((f) => JSON.stringify(row[f] ?? null) !== JSON.stringify(want[f] ?? null)))
        wrongProfiles++
    })
    const missingProfiles = [...expected.keys()].filter((email) => !seen.has(email)).length

    // Trends over the second half.
    const trends = {
      rssBytes: trendOf(samples.map((s) => ({ t: s.t, value: s.rssBytes }))),
      fds: trendOf(samples.map((s) => ({ t: s.t, value: s.fds }))),
      metricsBytes: trendOf(samples.map((s) => ({ t: s.t, value: s.metricsBytes }))),
      queueDepth: trendOf(samples.map((s) => ({ t: s.t, value: s.queueDepth })))
    }
    const describe = (name: string, trend: Trend, unit = 1, unitName = "") =>
      `${name}: second half ${(trend.first / unit).toFixed(1)} -> ${(trend.last / unit).toFixed(1)}${unitName}, ` +
      `mean ${(trend.mean / unit).toFixed(1)}${unitName}, slope ${(trend.slopePerMinute / unit).toFixed(2)}${unitName}/min ` +
      `(${(trend.growth / unit).toFixed(1)}${unitName} over the half, ${trend.samples} samples)`
    const mib = 1024 * 1024
    console.log(
      [
        "answers:",
        ...[...state.answers].sort().map(([label, n]) => `  ${label}: ${n}`),
        `stored events: ${eventRows} rows for ${state.appends.length} batches and ${state.singleAppends.size} single appends; ${missing} missing, ${doubled} stored twice, ${foreign} of no accepted write`,
        `stored profiles: ${profileRows} rows for ${state.upserts.length} upsert batches and ${state.singleProfiles.size} single-upserted profiles; ${wrongProfiles} differ from applying the upserts in sequence order, ${missingProfiles} missing`,
        `jobs: ${jobs.length} checked, ${failedJobs.length} not completed${failedJobs.length > 0 ? ` (e.g. ${failedJobs.slice(0, 3).join(", ")})` : ""}`,
        describe("RSS", trends.rssBytes, mib, " MiB"),
        describe("open fds", trends.fds),
        describe("/metrics size", trends.metricsBytes, 1, " B"),
        describe("queue depth (not judged)", trends.queueDepth)
      ].join("\n")
    )
    return verdict(
      [
        ...(["rssBytes", "fds", "metricsBytes"] as const)
          .filter((name) => keepsGrowing(trends[name], tolerances[name]))
          .map(
            (name) =>
              `${name} keeps growing (over ${tolerances[name].absolute} and ${tolerances[name].relative * 100} % of its mean over the second half)`
          ),
        missing + doubled + foreign > 0 ? "appended records not stored exactly once" : "",
        wrongProfiles + missingProfiles > 0 ? "profiles differ from the upserts applied in order" : "",
        failedJobs.length > 0 || !drained ? "jobs not completed" : "",
        state.unexpected.length > 0 ? `unexpected answers, e.g. ${state.unexpected.slice(0, 5).join(" | ")}` : "",
        samples.length < 6 ? "too few samples to judge a trend (run longer)" : ""
      ],
      "OK: no growth beyond tolerance, every accepted record stored exactly once"
    )
  })
}

runMain(main)
