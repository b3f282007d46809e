/**
 * `batchwrite append` and `upsert` as a user runs them: the built CLI as a process against a real `serve` on a real
 * port and SQLite file. Files land completely (NDJSON, CSV, a JSON array on stdin), bad rows are counted and
 * dead-lettered and land once fixed and replayed, a killed run resumed stores every row exactly once, and progress
 * is drawn on a terminal only.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { runProcess, succeeds } from "@batchwrite/server/testing/Process"
import { binPath, type CliRun, startCli } from "./cli.js"
import { cliSession } from "./CliSession.js"

const session = cliSession(2)
const { cli, file } = session

const event = (tag: string, i: number) => ({
  event: `${tag}-${i}`,
  occurred_at: "2026-04-21T15:00:00Z",
  user_id: `u-${i % 97}`,
  properties: { i }
})

const ndjson = (records: ReadonlyArray<unknown>): string =>
  records.map((record) => `${JSON.stringify(record)}\n`).join("")

const summaryOf = (run: CliRun) => {
  assert.strictEqual(run.status, 0, `exit ${run.status}: ${run.stderr}`)
  return JSON.parse(run.stdout) as {
    records: {
      sent: number
      inserted: number
      updated: number
      stale: number
      invalid: number
      notSent: number
      deadLettered: number
    }
    jobs: number
    jobIds: Array<string>
    resumedAt: number
    deadLetterFile: string | null
  }
}

/** Every stored row of an object, through `records list --all`. */
const storedRows = async (objectName: string): Promise<Array<Record<string, unknown>>> => {
  const run = await cli(["records", "list", objectName, "--all", "--json"])
  assert.strictEqual(run.status, 0, run.stderr)
  return run.stdout
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const putObject = async (name: string, definition: unknown) => {
  const run = await cli(["objects", "put", name, "-"], JSON.stringify(definition))
  assert.strictEqual(run.status, 0, run.stderr)
}

describe("append and upsert", () => {
  it("a 200,000-row NDJSON file lands completely, with the summary on stdout and nothing on stderr", async () => {
    const count = 200_000
    await putObject("visits", {
      fields: { event: { type: "string", required: true }, n: { type: "integer" } },
      matchKeys: []
    })
    const records = Array.from({ length: count }, (_, n) => ({ event: `visit-${n}`, n }))
    const path = file("visits.ndjson", ndjson(records))

    const run = await cli(["append", "visits", path])
    assert.strictEqual(run.status, 0, run.stderr)
    assert.strictEqual(run.stderr, "", "no progress when standard error is not a terminal")
    assert.match(run.stdout, /appended to 'visits': 200,000 records sent in [\d.]+ s \([\d,]+ records\/s\)/)
    assert.match(
      run.stdout,
      /inserted 200,000 · updated 0 · stale 0 · invalid 0 · not sent 0 · dead-lettered 0 · 20 jobs/
    )
    assert.isFalse(existsSync(`${path}.batchwrite-checkpoint`), "the checkpoint is removed when the run completes")

    const rows = await storedRows("visits")
    assert.strictEqual(rows.length, count)
    assert.strictEqual(new Set(rows.map((row) => row.n)).size, count)
  })

  it("a CSV file lands completely, its values typed by the object's schema", async () => {
    await putObject("products", {
      fields: {
        sku: { type: "string", required: true },
        price: { type: "number" },
        stock: { type: "integer" },
        active: { type: "boolean" },
        tags: { type: "json" },
        note: { type: "string" }
      },
      matchKeys: ["sku"]
    })
    const rows = ["sku,price,stock,active,tags,note"]
    for (let i = 0; i < 5_000; i++) rows.push(`P-${i},${i}.5,${i},${i % 2 === 0 ? "true" : "FALSE"},"[""t${i}""]",`)
    rows.push('"P,quoted",1e3,7,1,"{""a"": {""b"": [1, 2]}}","two\r\nlines, and ""quotes"""')
    const path = file("products.csv", `${rows.join("\r\n")}\r\n`)

    const summary = summaryOf(await cli(["upsert", "products", "--match-key", "sku", path, "--json"]))
    assert.deepStrictEqual(summary.records, {
      sent: 5_001,
      inserted: 5_001,
      updated: 0,
      stale: 0,
      invalid: 0,
      notSent: 0,
      deadLettered: 0
    })

    const stored = await storedRows("products")
    assert.strictEqual(stored.length, 5_001)
    const { _id, _createdAt, _updatedAt, ...first } = stored[0]!
    assert.deepStrictEqual(first, { sku: "P-0", price: 0.5, stock: 0, active: true, tags: ["t0"] })
    const quoted = stored.find((row) => row.sku === "P,quoted")!
    assert.deepStrictEqual(
      [quoted.price, quoted.stock, quoted.active, quoted.tags, quoted.note],
      [1000, 7, true, { a: { b: [1, 2] } }, 'two\r\nlines, and "quotes"']
    )
    // The same file again is a replay: the same batches, so the same keys, answered with the same jobs.
    const again = summaryOf(await cli(["upsert", "products", "--match-key", "sku", path, "--json"]))
    assert.deepStrictEqual([again.jobIds, again.records], [summary.jobIds, summary.records])
    assert.strictEqual((await storedRows("products")).length, 5_001)
  })

  it("a JSON array on standard input lands", async () => {
    const records = Array.from({ length: 1_500 }, (_, i) => event("stdin", i))
    const summary = summaryOf(await cli(["append", "events", "-", "--json"], JSON.stringify(records, null, 2)))
    assert.strictEqual(summary.records.inserted, 1_500)
  })

  it("a line that is not a JSON object is that row's error alone; the other rows land (issue 17, point 3)", async () => {
    const good = (tag: string) => JSON.stringify(event(tag, 1))
    const path = file("mixed.ndjson", `${good("m1")}\n42\n${good("m2")}\n${good("m3")}\n${good("m4")}\n`)
    const dead = join(session.directory, "mixed-rejected.ndjson")
    const summary = summaryOf(await cli(["append", "events", path, "--dead-letter", dead, "--json"]))
    assert.strictEqual(summary.records.sent, 5)
    assert.strictEqual(summary.records.inserted, 4)
    assert.strictEqual(summary.records.invalid, 1)
    const entries = readFileSync(dead, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { record: unknown; message: string })
    assert.strictEqual(entries.length, 1)
    assert.strictEqual(entries[0]!.record, 42)
    assert.match(entries[0]!.message, /JSON object/)
    const stored = (await storedRows("events")).map((row) => row.event)
    for (const tag of ["m1", "m2", "m3", "m4"]) assert.include(stored, `${tag}-1`)
  })

  it("dead-letter entries name each rejected row's line of the file; the counts of the summary agree (issue 17)", async () => {
    const good = JSON.stringify(event("ln", 1))
    const zoneless = JSON.stringify({ event: "late", occurred_at: "2026-04-21T15:00:00" })
    // Blank lines, so lines and record positions differ.
    const path = file("lines.ndjson", `${good}\n\n42\n\n${zoneless}\n{"event": \n${good}\n`)
    const dead = join(session.directory, "lines-rejected.ndjson")
    const run = await cli(["append", "events", path, "--dead-letter", dead])
    assert.strictEqual(run.status, 0, run.stderr)
    assert.match(run.stdout, /invalid 2 · not sent 1 · dead-lettered 3 ·/)
    assert.match(run.stdout, /3 rejected rows written to /)
    const messages = readFileSync(dead, "utf8")
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { message: string }).message)
      .sort()
    assert.strictEqual(messages.length, 3)
    assert.match(messages[0]!, /^line 3: record must be a JSON object/)
    assert.match(messages[1]!, /^line 5: occurred_at: datetime needs a zone/)
    assert.match(messages[2]!, /^line 6 is not valid JSON/)

    const withoutFile = await cli(["append", "events", path])
    assert.match(withoutFile.stdout, /not sent 1 · dead-lettered 0 ·/)
    assert.match(withoutFile.stdout, /^ {2}line 3: record must be a JSON object/m)
    assert.notMatch(withoutFile.stdout, /… and/)
  })

  it("bad rows end with the right counts and a dead-letter file whose rows, fixed and replayed, land", async () => {
    await putObject("signups", {
      fields: { email: { type: "email", required: true }, plan: { type: "string", required: true } },
      matchKeys: ["email"]
    })
    const lines: Array<string> = []
    for (let i = 0; i < 3_000; i++) {
      if (i % 1_000 === 7)
        lines.push(JSON.stringify({ email: `user${i}@example.com` })) // no plan: invalid
      else if (i === 1_500)
        lines.push(`{"email": "user${i}@example.com", "plan": `) // not JSON
      else lines.push(JSON.stringify({ email: `user${i}@example.com`, plan: "free" }))
    }
    const path = file("signups.ndjson", `${lines.join("\n")}\n`)
    const deadLetter = join(session.directory, "signups-rejected.ndjson")

    const run = await cli(["upsert", "signups", "--match-key", "email", path, "--dead-letter", deadLetter])
    assert.strictEqual(run.status, 0, "rejected rows are not a failure without --strict")
    assert.match(run.stdout, /inserted 2,996 · updated 0 · stale 0 · invalid 3 · not sent 1 · dead-lettered 4/)
    assert.match(run.stdout, /4 rejected rows written to .*signups-rejected\.ndjson/)

    const entries = readFileSync(deadLetter, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { record: unknown; code: string; message: string; matchKey?: string })
    assert.strictEqual(entries.length, 4)
    const unreadable = entries.find((entry) => typeof entry.record === "string")!
    assert.match(unreadable.message, /^line 1501 is not valid JSON/)
    // Entries are appended as the runs settle (`Rejects`), not in the file's order.
    const invalidLines = entries
      .filter((entry) => /plan/.test(entry.message))
      .map((entry) => Number(/^line (\d+):/.exec(entry.message)?.[1]))
    assert.deepStrictEqual(
      invalidLines.sort((a, b) => a - b),
      [8, 1008, 2008],
      "each invalid row's entry names its line of the file"
    )
    assert.isTrue(entries.every((entry) => entry.matchKey === "email"))

    // --strict turns rejected rows into exit 1 (the same file: every batch is a replay, nothing is written twice).
    const strict = await cli(["upsert", "signups", "--match-key", "email", path, "--strict"])
    assert.strictEqual(strict.status, 1)
    assert.match(strict.stderr, /4 rows were rejected \(--strict\)/)

    // Fix the rows in the dead-letter file, and replay it.
    const fixed = entries.map((entry) => ({
      ...entry,
      record:
        typeof entry.record === "string"
          ? { email: "user1500@example.com", plan: "pro" }
          : { ...(entry.record as object), plan: "pro" }
    }))
    writeFileSync(deadLetter, ndjson(fixed))
    const replay = await cli(["dead-letter", "replay", deadLetter, "--json"])
    assert.strictEqual(replay.status, 0, replay.stderr)
    assert.deepStrictEqual(summaryOf(replay).records, {
      sent: 4,
      inserted: 4,
      updated: 0,
      stale: 0,
      invalid: 0,
      notSent: 0,
      deadLettered: 0
    })
    const stored = await storedRows("signups")
    assert.strictEqual(stored.length, 3_000)
    assert.strictEqual(stored.filter((row) => row.plan === "pro").length, 4)
  })

  it("a run killed halfway and resumed stores every row exactly once", async () => {
    const count = 150_000
    await putObject("ticks", { fields: { n: { type: "integer", required: true } }, matchKeys: [] })
    const path = file("ticks.ndjson", ndjson(Array.from({ length: count }, (_, n) => ({ n }))))
    const checkpoint = `${path}.batchwrite-checkpoint`

    // Small batches, so the kill lands with some batches settled, some in flight and most not sent.
    const args = ["append", "ticks", path, "--concurrency", "2"]
    const first = startCli([...args], { env: session.env, cwd: session.directory })
    const deadline = Date.now() + 30_000
    const settledSoFar = () =>
      existsSync(checkpoint) ? (JSON.parse(readFileSync(checkpoint, "utf8")) as { done: number }).done : 0
    while (settledSoFar() < 20_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    first.child.kill("SIGKILL")
    assert.strictEqual((await first.exited).status, null)
    const doneAtKill = settledSoFar()
    assert.isAbove(doneAtKill, 0, "the checkpoint recorded progress before the kill")
    assert.isBelow(doneAtKill, count, "the kill came before the end")

    const resumed = summaryOf(await cli([...args, "--resume", "--json"]))
    assert.strictEqual(resumed.resumedAt, doneAtKill)
    assert.strictEqual(resumed.records.sent, count, "the summary counts the whole file, both runs")
    assert.strictEqual(resumed.records.inserted, count)
    assert.isFalse(existsSync(checkpoint))

    const rows = await storedRows("ticks")
    assert.strictEqual(rows.length, count, "no row is missing or stored twice")
    assert.strictEqual(new Set(rows.map((row) => row.n)).size, count)
  }, 120_000)

  it("Ctrl-C: exit 130, the checkpoint kept, and one line saying how to continue", async () => {
    const path = file("interrupted.ndjson", ndjson(Array.from({ length: 150_000 }, (_, i) => event("int", i))))
    const checkpoint = `${path}.batchwrite-checkpoint`
    const run = startCli(["append", "events", path, "--concurrency", "1"], { env: session.env, cwd: session.directory })
    const deadline = Date.now() + 30_000
    while (!existsSync(checkpoint) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    run.child.kill("SIGINT")
    const ended = await run.exited
    assert.strictEqual(ended.status, 130)
    assert.match(
      ended.stderr,
      /^batchwrite: interrupted; the first [\d,]+ records are done: run it again with --resume/
    )
    assert.isTrue(existsSync(checkpoint))
    const resumed = summaryOf(await cli(["append", "events", path, "--concurrency", "1", "--resume", "--json"]))
    assert.strictEqual(resumed.records.inserted, 150_000)
  })

  it("--no-wait ends once every batch is accepted and prints the job ids", async () => {
    const path = file("nowait.ndjson", ndjson(Array.from({ length: 25_000 }, (_, i) => event("nowait", i))))
    const summary = summaryOf(await cli(["append", "events", path, "--no-wait", "--json"]))
    assert.strictEqual(summary.records.sent, 25_000)
    assert.strictEqual(summary.jobIds.length, 3)
    const job = await cli(["jobs", "get", "events", summary.jobIds[2]!, "--wait", "--json"])
    assert.strictEqual(job.status, 0, job.stderr)
    assert.strictEqual((JSON.parse(job.stdout) as { state: string }).state, "completed")
  })
})

const hasScript = await succeeds("script", ["--version"])

describe("progress", () => {
  if (!hasScript) console.warn("write.test.ts: the terminal progress test is SKIPPED: `script` (util-linux) is missing")

  it.skipIf(!hasScript)("is drawn on standard error in a terminal, and erased before the summary", async () => {
    const path = file("progress.ndjson", ndjson(Array.from({ length: 300_000 }, (_, i) => event("tty", i))))
    // `script` runs the command in a pseudo-terminal and copies what it wrote to the terminal to our stdout.
    const command = `stty cols 160; ${[process.execPath, binPath, "append", "events", path].map((part) => `'${part}'`).join(" ")}`
    const run = await runProcess("script", ["-qfec", command, "/dev/null"], { env: { ...process.env, ...session.env } })
    assert.strictEqual(run.status, 0, run.stdout)
    const erase = "\r\u001b[2K"
    const drawn = run.stdout.split(erase)
    assert.isTrue(
      drawn.some((line) => /^[\d,]+ records sent · [\d,]+ records\/s · \d+ jobs? pending · \d+% read/.test(line)),
      JSON.stringify(run.stdout.slice(0, 500))
    )
    assert.match(drawn.at(-1)!, /^appended to 'events': 300,000 records sent/, "the line is erased before the summary")
  })
})
