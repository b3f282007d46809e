/**
 * `batchwrite bench` against a real `batchwrite serve` that rate-limits its tokens, with a token that may write but
 * is not admin: a tiny plan into an object of the service's config, checked through `results.json` (a row for each
 * batch size, 429s counted and waited out, a recommendation) and through the service (the rows it says it wrote are
 * in that object, and nowhere else). And every bad option is a usage error with the usage, before anything is sent.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BenchResults } from "@batchwrite/bench"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type CliRun, runCli } from "./cli.js"

/** May write, not admin; 10 requests/s with a burst of 1. */
const writer = "bench-writer-token-0123456789"
/** May write, not admin; the service's rate limit. */
const sweeper = "bench-sweeper-token-0123456789"

/** Stored rows of an object, read as NDJSON with the admin quick-start token. */
const storedRows = async (server: ServeProcess, objectName: string): Promise<Array<Record<string, unknown>>> => {
  const response = await server.fetch(`/public/v1/records/${objectName}`, {
    headers: { accept: "application/x-ndjson" }
  })
  assert.strictEqual(response.status, 200)
  return (await response.text())
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const expectUsage = (run: CliRun, message: RegExp) => {
  assert.strictEqual(run.status, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  assert.match(run.stderr, message)
  assert.match(run.stderr, /usage: batchwrite bench --url <API URL> --token <token> \[--object text\]/)
  assert.notMatch(run.stdout + run.stderr, /benchmark of|row 1\//, "nothing ran")
  assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
}

describe("batchwrite bench against a running deployment", () => {
  let server: ServeProcess
  let directory: string
  beforeAll(async () => {
    server = await ServeProcess.start({
      workers: 2,
      config: {
        // A burst of 1: two connections sending at once meet a 429 at once, however slow the machine.
        tokens: [
          {
            token: writer,
            workspace: "default",
            scopes: ["records:write"],
            rateLimit: { requestsPerSecond: 10, burst: 1 }
          },
          { token: sweeper, workspace: "default", scopes: ["records:write"] }
        ],
        objects: {
          default: [
            {
              name: "orders",
              fields: {
                ref: { type: "string", required: true },
                placed_at: { type: "datetime", required: true },
                total: { type: "number" },
                lines: { type: "json" }
              },
              matchKeys: ["ref"]
            }
          ]
        }
      }
    })
    directory = mkdtempSync(join(tmpdir(), "batchwrite-bench-"))
  }, 60_000)
  afterAll(async () => {
    await server?.dispose()
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  })

  const bench = (args: ReadonlyArray<string>, out: string, token = writer) =>
    runCli(["bench", "--url", server.baseUrl, "--token", token, "--out", join(directory, out), ...args])

  it("appends into --object with a token without admin, counts and waits out the 429s, and recommends", async () => {
    const run = await bench(
      [
        "--object",
        "orders",
        "--sizes",
        "20,100",
        "--connections",
        "2",
        "--duration",
        "1.5",
        "--p99-budget",
        "5000",
        "--no-client-sweep"
      ],
      "append"
    )
    assert.strictEqual(run.status, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
    const results = JSON.parse(readFileSync(join(directory, "append", "results.json"), "utf8")) as BenchResults
    assert.isTrue(readFileSync(join(directory, "append", "results.svg"), "utf8").startsWith("<svg"))

    assert.deepStrictEqual(
      results.rows.map((row) => [row.operation, row.batchSize, row.connections]),
      [
        ["append-batch", 20, 2],
        ["append-batch", 100, 2]
      ]
    )
    for (const row of results.rows) {
      assert.isAbove(row.requests, 0)
      assert.strictEqual(row.errors, 0, row.errorDetails.join("; "))
      assert.strictEqual(row.recordsCommitted, row.recordsAccepted, "every accepted record committed")
      assert.isNotNull(row.latencyMs.p99)
      assert.isNotNull(row.jobLatencyMs.p99)
    }
    const limited = results.rows.reduce((total, row) => total + row.rateLimited, 0)
    assert.isAbove(limited, 0, "429s counted")
    assert.isAbove(
      results.rows.reduce((total, row) => total + row.retryAfterWaitMs, 0),
      0,
      "Retry-After waited out"
    )

    assert.strictEqual(results.recommendations.length, 1)
    const [recommendation] = results.recommendations
    assert.strictEqual(recommendation!.operation, "append-batch")
    assert.include([20, 100], recommendation!.batchSize)
    assert.match(run.stdout, /append: use batches of (20|100) with 2 connections: [\d,]+ records\/s committed/)

    assert.deepStrictEqual(results.clientSweep, [])

    // What it says it wrote is in orders, and nothing is anywhere else.
    const committed = results.rows.reduce((total, row) => total + row.recordsCommitted, 0)
    assert.strictEqual(results.written.objectName, "orders")
    assert.isFalse(results.written.created)
    assert.strictEqual(results.written.accepted, committed)
    assert.match(run.stdout, new RegExp(`wrote ${committed.toLocaleString("en")} records into orders`))
    assert.strictEqual((await storedRows(server, "orders")).length, committed)
    assert.strictEqual((await storedRows(server, "events")).length, 0)
    assert.strictEqual((await storedRows(server, "profiles")).length, 0)
    const objects = (await (await server.fetch("/public/v1/objects")).json()) as {
      data: { objects: Array<{ name: string }> }
    }
    assert.deepStrictEqual(objects.data.objects.map((object) => object.name).sort(), ["events", "orders", "profiles"])
  })

  it("upserts into --object by --match-key (about half of each batch after the first updates), then through write and RecordBuffer", async () => {
    const before = (await storedRows(server, "orders")).length
    const run = await bench(
      [
        "--object",
        "orders",
        "--match-key",
        "ref",
        "--sizes",
        "40",
        "--connections",
        "1",
        "--duration",
        "1",
        "--p99-budget",
        "5000",
        "--client-sizes",
        "50",
        "--client-concurrency",
        "2",
        "--max-age",
        "0.2",
        "--json"
      ],
      "upsert",
      sweeper
    )
    assert.strictEqual(run.status, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
    const results = JSON.parse(run.stdout) as BenchResults
    const [row] = results.rows
    assert.strictEqual(row!.operation, "upsert-batch")
    assert.strictEqual(row!.errors, 0, row!.errorDetails.join("; "))
    assert.strictEqual(row!.inserted + row!.updated, row!.recordsAccepted)
    if (row!.requests > 1) assert.strictEqual(row!.updated, (row!.requests - 1) * 20)

    // An upsert buffer flushes one group at a time: its cell runs at concurrency 1 whatever the grid says.
    assert.deepStrictEqual(
      results.clientSweep.map((cell) => [cell.tool, cell.operation, cell.maxRecords, cell.concurrency, cell.maxAgeMs]),
      [
        ["write", "upsert-batch", 50, 2, null],
        ["RecordBuffer", "upsert-batch", 50, 1, 200]
      ]
    )
    for (const cell of results.clientSweep) {
      assert.strictEqual(cell.errors, 0, cell.errorDetails.join("; "))
      assert.isAbove(cell.delivered, 0)
      assert.isNotNull(cell.acceptLatencyMs.p99)
    }
    assert.deepStrictEqual(
      results.clientRecommendations.map((r) => [r.tool, r.maxRecords, r.concurrency]),
      [
        ["write", 50, 2],
        ["RecordBuffer", 50, 1]
      ]
    )
    // Client-sweep records have keys of their own: each is a new row.
    const clientRows = results.clientSweep.reduce((total, cell) => total + cell.delivered, 0)
    assert.strictEqual((await storedRows(server, "orders")).length, before + row!.inserted + clientRows)
  })

  it("creating bench_<time> needs the admin scope: a token without it is told to use --object (exit 1)", async () => {
    const run = await bench(["--sizes", "10", "--connections", "1", "--duration", "0.5"], "create")
    assert.strictEqual(run.status, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
    assert.match(run.stderr, /create the object bench_\d{8}_\d{6} needs the admin scope .*--object <name>/)
  })

  it("--dry-run prints the plan and sends nothing", async () => {
    const run = await runCli(["bench", "--url", "http://127.0.0.1:9/public/v1", "--dry-run", "--sizes", "500"])
    assert.strictEqual(run.status, 0, run.stderr)
    assert.match(
      run.stdout,
      /server sweep: 6 rows = append-batch, upsert-batch × batch sizes 500 × connections 1, 4, 8/
    )
    assert.match(run.stdout, /dry run: nothing was sent/)
  })
})

describe("batchwrite bench: bad options are usage errors (exit 2) with the usage, before anything runs", () => {
  const url = ["--url", "http://127.0.0.1:9/public/v1", "--token", "t"]
  it("unknown flags", async () => {
    expectUsage(await runCli(["bench", ...url, "--quik"]), /unknown option --quik for batchwrite bench/)
    expectUsage(await runCli(["bench", ...url, "--size", "100"]), /unknown option --size .*did you mean --sizes\?/)
  })

  it("bad values", async () => {
    // One of each kind (every check of the values is in packages/bench/test/BenchPlan.test.ts): a value of the
    // wrong type (@effect/cli), a value out of range, flags that need each other, no token.
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["--duration", "abc"], /'abc' is not a float/],
      [["--sizes", "0,100"], /--sizes takes batch sizes from 1 to 10000.*got '0'/],
      [["--match-key", "ref"], /--match-key needs --object/]
    ]
    const runs = await Promise.all(cases.map(([args]) => runCli(["bench", ...url, ...args])))
    for (const [i, run] of runs.entries()) expectUsage(run, cases[i]![1])
    expectUsage(await runCli(["bench", "--url", "http://127.0.0.1:9/public/v1"]), /no API token/)
  })
})
