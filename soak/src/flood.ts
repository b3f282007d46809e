/**
 * The flood of issue 15's must-show, run by hand (outside CI): `pnpm flood` starts a built `batchwrite serve`
 * (SQLite; `--postgres` for a fresh PostgreSQL database) with its default admission bounds and sends it 400 concurrent
 * ~10 MB append batches (10,000 records each), every client resending its batch with the same `Idempotency-Key` after
 * each `503` (waiting its `Retry-After`) until it is accepted. Meanwhile a thread of its own probes `GET /healthz`
 * and samples the server's RSS. At the end it waits for the queue to drain, reads every stored row back and checks
 * that each record of each accepted batch is stored exactly once.
 *
 * Prints peak RSS, the /healthz latencies, the 202s and refusals; exits 1 when /healthz took over 1 s, the RSS went
 * over the documented bound (512 MiB + 5 × the in-flight bound: 1,792 MiB with the default 256 MiB; `--max-rss-mib`
 * for another), or a record is missing or doubled.
 *
 * Options: `--clients 400`, `--records 10000` (per batch), `--postgres`, `--max-in-flight-mib N` (passed to serve),
 * `--cpu-prof <dir>` (profiles the server), `--max-rss-mib N`.
 */
import { parseArgs } from "node:util"
import { runMain, verdict, withServer } from "./Verdict.js"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { send, sleep } from "./Http.js"
import { startProbe } from "./Probe.js"
import { awaitEmptyQueue, streamRows } from "./Rows.js"

const { values: options } = parseArgs({
  options: {
    clients: { type: "string", default: "400" },
    records: { type: "string", default: "10000" },
    postgres: { type: "boolean", default: false },
    "max-in-flight-mib": { type: "string" },
    "cpu-prof": { type: "string" },
    "max-rss-mib": { type: "string" },
    workers: { type: "string", default: "2" }
  },
  strict: true
})

const clients = Number(options.clients)
const recordsPerBatch = Number(options.records)
const maxBodyBytes = 10_485_760
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

// Every record has the same length (fixed-width ids), so a body's length is known before it is generated.
const idOf = (client: number, index: number) =>
  `fl-${String(client).padStart(4, "0")}-${String(index).padStart(5, "0")}`
const recordOf = (pad: string) => (client: number, index: number) =>
  `{"session_id":"${idOf(client, index)}","event":"${pad}","occurred_at":"2026-04-21T15:00:00Z","user_id":"u${index % 10}"}`
const padLength = Math.floor((maxBodyBytes - 4_096) / recordsPerBatch) - recordOf("")(0, 0).length - 1 /* the comma */
const record = recordOf("x".repeat(Math.max(1, padLength)))
const head = Buffer.from('{"records":[')
const tail = Buffer.from("]}")
const recordBytes = Buffer.byteLength(record(0, 0))
const bodyLength = head.length + recordsPerBatch * recordBytes + (recordsPerBatch - 1) + tail.length

/** The body of client `client`'s batch, generated 500 records at a time. */
const bodyOf = (client: number) => ({
  length: bodyLength,
  chunks: function* () {
    yield head
    for (let start = 0; start < recordsPerBatch; start += 500) {
      const end = Math.min(recordsPerBatch, start + 500)
      const parts: Array<string> = []
      for (let i = start; i < end; i++) parts.push(record(client, i))
      yield Buffer.from((start === 0 ? "" : ",") + parts.join(","))
    }
    yield tail
  }
})

interface Delivery {
  readonly client: number
  readonly refusals: number
  readonly networkErrors: number
  readonly ms: number
}

const deliver = async (server: ServeProcess, client: number): Promise<Delivery> => {
  const started = Date.now()
  let refusals = 0
  let networkErrors = 0
  while (true) {
    try {
      const answer = await send(server.origin, server.token, {
        method: "POST",
        path: "/public/v1/records/events/append-batch",
        headers: { "idempotency-key": `flood-${client}` },
        body: bodyOf(client),
        timeoutMs: 300_000
      })
      if (answer.status === 202) return { client, refusals, networkErrors, ms: Date.now() - started }
      if (answer.status !== 503 && answer.status !== 409) {
        throw new Error(`client ${client}: unexpected ${answer.status} ${answer.text.slice(0, 300)}`)
      }
      refusals++
      await sleep((answer.retryAfter ?? 1) * 1_000)
    } catch (error) {
      if (String(error).includes("unexpected")) throw error
      networkErrors++
      await sleep(200)
    }
  }
}

const main = async () => {
  const args = options["max-in-flight-mib"] === undefined ? [] : ["--max-in-flight-mib", options["max-in-flight-mib"]]
  const server = await ServeProcess.start({
    adapter: options.postgres ? "postgres" : "sqlite",
    workers: Number(options.workers),
    rateLimit: 100_000,
    args,
    output: "files",
    nodeArgs: options["cpu-prof"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options["cpu-prof"]]
  })
  return withServer(server, async () => {
    const baseline = server.rssBytes() ?? 0
    console.log(
      `flood: ${clients} clients x ${(bodyLength / 1e6).toFixed(2)} MB (${recordsPerBatch} records) against ` +
        `batchwrite serve (${options.postgres ? "postgres" : "sqlite"}, pid ${server.pid}, RSS ${mib(baseline)})`
    )
    const probe = startProbe({ origin: server.origin, pid: server.pid })
    const started = Date.now()
    const deliveries = await Promise.all(Array.from({ length: clients }, (_, client) => deliver(server, client)))
    const acceptedMs = Date.now() - started
    const drained = await awaitEmptyQueue(server.origin, server.token, 1_800_000)
    const processedMs = Date.now() - started
    const report = await probe.stop()

    const counts = Array.from({ length: clients }, () => new Uint8Array(recordsPerBatch))
    let foreign = 0
    const rows = await streamRows(server.origin, server.token, "events", (line) => {
      const match = /"session_id":"fl-(\d{4})-(\d{5})"/.exec(line)
      const client = match === null ? Number.NaN : Number(match[1])
      const index = match === null ? Number.NaN : Number(match[2])
      if (counts[client] === undefined || index >= recordsPerBatch) foreign++
      else counts[client]![index]! += 1
    })
    let missing = 0
    let doubled = 0
    for (const perClient of counts) {
      for (const count of perClient) {
        if (count === 0) missing++
        if (count > 1) doubled++
      }
    }
    const refusals = deliveries.reduce((sum, d) => sum + d.refusals, 0)
    const networkErrors = deliveries.reduce((sum, d) => sum + d.networkErrors, 0)
    const inFlightMib = Number(options["max-in-flight-mib"] ?? 256)
    const maxRss = Number(options["max-rss-mib"] ?? 512 + 5 * inFlightMib) * 1024 * 1024
    console.log(
      [
        `202s: ${deliveries.length}/${clients} batches after ${refusals} refusals (503/409) and ${networkErrors} network errors; all accepted in ${(acceptedMs / 1000).toFixed(1)} s, processed in ${(processedMs / 1000).toFixed(1)} s${drained ? "" : " (QUEUE NOT DRAINED)"}`,
        `server RSS: ${mib(baseline)} at start, peak ${mib(report.peakRssBytes)} (bound ${mib(maxRss)})`,
        `/healthz: ${report.healthz.count} probes, ${report.healthz.failed} failed, p99 ${report.healthz.p99Ms} ms, max ${report.healthz.maxMs} ms`,
        `stored: ${rows} rows; ${missing} records missing, ${doubled} stored twice, ${foreign} rows of no batch`
      ].join("\n")
    )
    return verdict(
      [
        report.healthz.maxMs > 1_000 || report.healthz.failed > 0 ? "/healthz over 1 s or failing" : "",
        report.peakRssBytes > maxRss ? "RSS over its bound" : "",
        missing + doubled + foreign > 0 || !drained ? "records not stored exactly once" : ""
      ],
      "OK"
    )
  })
}

runMain(main)
