/**
 * `batchwrite key` against the hosted API's Python recipes (SPEC §5): the committed vectors everywhere, and a
 * differential run against the real python3 when it is installed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { batchText, messageId } from "@batchwrite/core/testing/jsonText"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { runProcess, succeeds } from "@batchwrite/server/testing/Process"
import { type CliRun, runCli } from "./cli.js"

const vectorsDir = join(
  dirname(createRequire(import.meta.url).resolve("@batchwrite/core/package.json")),
  "test/vectors"
)

const hasPython = await succeeds("python3", ["--version"])

/** Runs `batchwrite key` over each case, a few processes at a time (each is mostly node's start-up). */
const keysOf = async (cases: ReadonlyArray<{ readonly args: ReadonlyArray<string> }>): Promise<Array<CliRun>> => {
  const runs: Array<CliRun> = []
  for (let start = 0; start < cases.length; start += 4) {
    const group = cases.slice(start, start + 4).map((c) => runCli(["key", ...c.args]))
    runs.push(...(await Promise.all(group)))
  }
  return runs
}
if (!hasPython) console.warn("key.test.ts: the python3 differential test is SKIPPED: python3 is not on PATH")

// SPEC §5, verbatim, over each file named on the command line.
const reference = `
import hashlib, json, sys, uuid
for kind, path in (line.split(" ", 1) for line in open(sys.argv[1], encoding="utf-8").read().splitlines()):
    data = json.load(open(path, encoding="utf-8"))
    if kind == "batch":
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=True)
        print(str(uuid.UUID(hashlib.md5(canonical.encode()).hexdigest())))
    else:
        combined = ":".join(sorted(data))
        print(str(uuid.UUID(hashlib.md5(combined.encode()).hexdigest())))
`

describe("batchwrite key", () => {
  it("prints the committed vectors' keys, from a file and from stdin", async () => {
    const expected: Record<string, { key: string }> = JSON.parse(
      readFileSync(join(vectorsDir, "expected.json"), "utf8")
    )
    const files = readdirSync(vectorsDir).filter((file) => file.endsWith(".json") && file !== "expected.json")
    assert.isAbove(files.length, 10)
    const runs = await keysOf(
      files.map((file) => ({ args: [...(file.startsWith("queue-") ? ["--queue-ids"] : []), join(vectorsDir, file)] }))
    )
    files.forEach((file, i) => {
      assert.strictEqual(runs[i]!.status, 0, `${file}: ${runs[i]!.stderr}`)
      assert.strictEqual(runs[i]!.stdout, `${expected[file]!.key}\n`, file)
    })
    const first = files.find((file) => file.startsWith("batch-"))!
    const fromStdin = await runCli(["key", "-"], readFileSync(join(vectorsDir, first), "utf8"))
    assert.strictEqual(fromStdin.stdout, `${expected[first]!.key}\n`)
  })

  // The key law itself is checked against python3 on 300 generated inputs by core's Keys.differential.test.ts; here,
  // that the command (reading a file, parsing it losslessly, printing) gives python3's answer, on fewer inputs: each
  // is a process start, about a second on a loaded 2-core machine.
  it.skipIf(!hasPython)(
    "prints what python3 prints for generated batch and queue-id files",
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "batchwrite-key-"))
      try {
        const batches = fc.sample(batchText, { seed: 42, numRuns: 12 }).map((text) => ({ kind: "batch", text }))
        const queues = fc
          .sample(fc.array(messageId, { maxLength: 8 }), { seed: 43, numRuns: 4 })
          .map((ids) => ({ kind: "queue", text: JSON.stringify(ids) }))
        const cases = [...batches, ...queues].map((c, i) => ({ ...c, path: join(dir, `${c.kind}-${i}.json`) }))
        for (const c of cases) writeFileSync(c.path, c.text, "utf8")
        writeFileSync(join(dir, "manifest.txt"), cases.map((c) => `${c.kind} ${c.path}`).join("\n"), "utf8")
        writeFileSync(join(dir, "reference.py"), reference, "utf8")
        const python = await runProcess("python3", [join(dir, "reference.py"), join(dir, "manifest.txt")])
        assert.strictEqual(python.status, 0, python.stderr)
        const pythonKeys = python.stdout.trimEnd().split("\n")
        const runs = await keysOf(cases.map((c) => ({ args: c.kind === "queue" ? ["--queue-ids", c.path] : [c.path] })))
        cases.forEach((c, i) => {
          const run = runs[i]!
          assert.strictEqual(run.status, 0, `${c.path}: ${run.stderr}`)
          assert.strictEqual(run.stdout.trimEnd(), pythonKeys[i], `key of ${JSON.stringify(c.text)}`)
        })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  )

  describe("bad input is one line on stderr and exit code 2", () => {
    const expectUsageError = (run: CliRun, message: RegExp) => {
      assert.strictEqual(run.status, 2)
      assert.strictEqual(run.stdout, "")
      assert.match(run.stderr, message)
      assert.strictEqual(run.stderr.trimEnd().split("\n").length, 1, run.stderr)
      assert.notMatch(run.stderr, /\n\s+at /)
    }

    it("a missing file", async () =>
      expectUsageError(await runCli(["key", "/no/such/batch.json"]), /file not found: \/no\/such\/batch\.json/))
    it("text that is not JSON", async () =>
      expectUsageError(await runCli(["key", "-"], '[{"a": 1,]'), /not valid JSON: .*line 1, column 10/))
    it("bytes that are not UTF-8", async () => {
      const dir = mkdtempSync(join(tmpdir(), "batchwrite-key-"))
      const path = join(dir, "latin1.json")
      writeFileSync(path, Buffer.from([0x5b, 0x22, 0xe9, 0x22, 0x5d]))
      expectUsageError(await runCli(["key", path]), /not valid UTF-8/)
      rmSync(dir, { recursive: true, force: true })
    })
    it("JSON that is not an array", async () =>
      expectUsageError(await runCli(["key"], '{"records": []}'), /expected a JSON array of records, got object/))
    it("queue ids that are not strings", async () =>
      expectUsageError(await runCli(["key", "--queue-ids", "-"], '["m-1", 2]'), /message id at index 1 is a number/))
    it("an unknown option", async () => expectUsageError(await runCli(["key", "--bogus"]), /unknown option --bogus/))
  })

  it("--help describes the command with an example", async () => {
    const run = await runCli(["key", "--help"])
    assert.strictEqual(run.status, 0)
    assert.match(run.stdout, /--queue-ids/)
    assert.match(run.stdout, /Example: batchwrite key batch\.json/)
  })
})
