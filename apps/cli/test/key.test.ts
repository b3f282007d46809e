/**
 * `batchwrite key` against the hosted API's Python recipes (SPEC §5): the committed vectors everywhere, and a
 * differential run against the real python3 when it is installed.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { batchText, messageId } from "@batchwrite/core/testing/jsonText"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { runCli } from "./cli.js"

const vectorsDir = join(
  dirname(createRequire(import.meta.url).resolve("@batchwrite/core/package.json")),
  "test/vectors"
)

const hasPython = spawnSync("python3", ["--version"]).status === 0
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
  it("prints the committed vectors' keys, from a file and from stdin", () => {
    const expected: Record<string, { key: string }> = JSON.parse(
      readFileSync(join(vectorsDir, "expected.json"), "utf8")
    )
    const files = readdirSync(vectorsDir).filter((file) => file.endsWith(".json") && file !== "expected.json")
    assert.isAbove(files.length, 10)
    for (const file of files) {
      const path = join(vectorsDir, file)
      const args = file.startsWith("queue-") ? ["key", "--queue-ids"] : ["key"]
      const run = runCli([...args, path])
      assert.strictEqual(run.status, 0, `${file}: ${run.stderr}`)
      assert.strictEqual(run.stdout, `${expected[file]!.key}\n`, file)
    }
    const first = files.find((file) => file.startsWith("batch-"))!
    const fromStdin = runCli(["key", "-"], readFileSync(join(vectorsDir, first), "utf8"))
    assert.strictEqual(fromStdin.stdout, `${expected[first]!.key}\n`)
  })

  it.skipIf(!hasPython)("prints what python3 prints for generated batch and queue-id files", () => {
    const dir = mkdtempSync(join(tmpdir(), "batchwrite-key-"))
    try {
      const batches = fc.sample(batchText, { seed: 42, numRuns: 30 }).map((text) => ({ kind: "batch", text }))
      const queues = fc
        .sample(fc.array(messageId, { maxLength: 8 }), { seed: 43, numRuns: 10 })
        .map((ids) => ({ kind: "queue", text: JSON.stringify(ids) }))
      const cases = [...batches, ...queues].map((c, i) => ({ ...c, path: join(dir, `${c.kind}-${i}.json`) }))
      for (const c of cases) writeFileSync(c.path, c.text, "utf8")
      writeFileSync(join(dir, "manifest.txt"), cases.map((c) => `${c.kind} ${c.path}`).join("\n"), "utf8")
      writeFileSync(join(dir, "reference.py"), reference, "utf8")
      const python = spawnSync("python3", [join(dir, "reference.py"), join(dir, "manifest.txt")], { encoding: "utf8" })
      assert.strictEqual(python.status, 0, python.stderr)
      const pythonKeys = python.stdout.trimEnd().split("\n")
      cases.forEach((c, i) => {
        const run = runCli(c.kind === "queue" ? ["key", "--queue-ids", c.path] : ["key", c.path])
        assert.strictEqual(run.status, 0, `${c.path}: ${run.stderr}`)
        assert.strictEqual(run.stdout.trimEnd(), pythonKeys[i], `key of ${JSON.stringify(c.text)}`)
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe("bad input is one line on stderr and exit code 2", () => {
    const expectUsageError = (run: ReturnType<typeof runCli>, message: RegExp) => {
      assert.strictEqual(run.status, 2)
      assert.strictEqual(run.stdout, "")
      assert.match(run.stderr, message)
      assert.strictEqual(run.stderr.trimEnd().split("\n").length, 1, run.stderr)
      assert.notMatch(run.stderr, /\n\s+at /)
    }

    it("a missing file", () =>
      expectUsageError(runCli(["key", "/no/such/batch.json"]), /file not found: \/no\/such\/batch\.json/))
    it("text that is not JSON", () =>
      expectUsageError(runCli(["key", "-"], '[{"a": 1,]'), /not valid JSON: .*line 1, column 10/))
    it("bytes that are not UTF-8", () => {
      const dir = mkdtempSync(join(tmpdir(), "batchwrite-key-"))
      const path = join(dir, "latin1.json")
      writeFileSync(path, Buffer.from([0x5b, 0x22, 0xe9, 0x22, 0x5d]))
      expectUsageError(runCli(["key", path]), /not valid UTF-8/)
      rmSync(dir, { recursive: true, force: true })
    })
    it("JSON that is not an array", () =>
      expectUsageError(runCli(["key"], '{"records": []}'), /expected a JSON array of records, got object/))
    it("queue ids that are not strings", () =>
      expectUsageError(runCli(["key", "--queue-ids", "-"], '["m-1", 2]'), /message id at index 1 is a number/))
    it("an unknown option", () => expectUsageError(runCli(["key", "--bogus"]), /unknown option --bogus/))
  })

  it("--help describes the command with an example", () => {
    const run = runCli(["key", "--help"])
    assert.strictEqual(run.status, 0)
    assert.match(run.stdout, /--queue-ids/)
    assert.match(run.stdout, /Example: batchwrite key batch\.json/)
  })
})
