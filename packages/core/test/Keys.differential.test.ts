/**
 * Differential test of the idempotency keys against the reference: the Python recipes of SPEC §5, run by the real
 * python3 over generated files. Needs python3 on PATH; without it the test is reported as skipped (the fixed
 * vectors of Keys.test.ts still run everywhere).
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "../src/CanonicalJson.js"
import { batchIdempotencyKey, queueBatchKey } from "../src/Keys.js"
import { parse } from "../src/LosslessJson.js"
import { batchText, messageId } from "./arbitraries/jsonText.js"

// SPEC §5's code, applied to each file of the manifest; prints the key and the hashed text per file as JSON.
const reference = `
import hashlib, json, sys, uuid

def batch(records):
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=True)
    key = str(uuid.UUID(hashlib.md5(canonical.encode()).hexdigest()))
    return key, canonical

def queue(message_ids):
    combined = ":".join(sorted(message_ids))
    key = str(uuid.UUID(hashlib.md5(combined.encode()).hexdigest()))
    return key, combined

for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    kind, path = line.split(" ", 1)
    try:
        with open(path, encoding="utf-8") as f:
            key, text = (batch if kind == "batch" else queue)(json.load(f))
        print(json.dumps({"key": key, "text": text}))
    except Exception as e:
        print(json.dumps({"error": repr(e)}))
`

/** Runs python3 asynchronously (a synchronous spawn would keep the test worker from answering vitest). */
const python3 = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly ok: boolean; readonly stdout: string; readonly stderr: string }>((resolve) =>
    execFile("python3", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ ok: !error, stdout, stderr })
    )
  )

const hasPython = (await python3(["-c", "import sys; sys.exit(0 if sys.version_info >= (3, 7) else 1)"])).ok

if (!hasPython) {
  console.warn(
    "Keys.differential.test.ts: SKIPPED because python3 is missing from PATH; the keys were not compared with the " +
      "Python recipes (the fixed vectors of Keys.test.ts still ran)"
  )
}

interface Case {
  readonly kind: "batch" | "queue"
  readonly input: string
  /** Our key, and for a batch the canonical text it hashes. */
  readonly ours: () => { readonly key: string; readonly text?: string }
}

/** Runs one python3 over every case and returns its answer for each. */
const runReference = async (
  cases: ReadonlyArray<Case>
): Promise<ReadonlyArray<{ key?: string; text?: string; error?: string }>> => {
  const dir = mkdtempSync(join(tmpdir(), "batchwrite-keys-"))
  try {
    const manifest = cases.map((c, i) => {
      const path = join(dir, `${c.kind}-${i}.json`)
      writeFileSync(path, c.input, "utf8")
      return `${c.kind} ${path}`
    })
    writeFileSync(join(dir, "manifest.txt"), manifest.join("\n"), "utf8")
    writeFileSync(join(dir, "reference.py"), reference, "utf8")
    const run = await python3([join(dir, "reference.py"), join(dir, "manifest.txt")])
    assert.isTrue(run.ok, `python3 failed: ${run.stderr}`)
    const lines = run.stdout.trimEnd().split("\n")
    assert.strictEqual(lines.length, cases.length)
    return lines.map((line) => JSON.parse(line))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe("Keys against the Python recipes", () => {
  it.skipIf(!hasPython)("batchIdempotencyKey and queueBatchKey equal python3's keys for generated inputs", async () => {
    const batches: Array<Case> = fc.sample(batchText, { seed: 20260421, numRuns: 250 }).map((input) => ({
      kind: "batch",
      input,
      ours: () => {
        const records = Either.getOrThrow(parse(input)) as ReadonlyArray<unknown>
        return { key: batchIdempotencyKey(records), text: stringify(records) }
      }
    }))
    const queues: Array<Case> = fc
      .sample(fc.array(messageId, { maxLength: 10 }), { seed: 20260422, numRuns: 50 })
      .map((ids) => ({
        kind: "queue",
        input: JSON.stringify(ids),
        ours: () => ({ key: queueBatchKey(ids) })
      }))
    const cases = [...batches, ...queues]
    const expected = await runReference(cases)
    cases.forEach((c, i) => {
      const python = expected[i]!
      const context = `case ${i} (${c.kind}), input: ${JSON.stringify(c.input)}`
      assert.isUndefined(python.error, `python3 rejected ${context}: ${python.error}`)
      const ours = c.ours()
      if (c.kind === "batch") assert.strictEqual(ours.text, python.text, `canonical text of ${context}`)
      assert.strictEqual(ours.key, python.key, `key of ${context}`)
    })
  })
})
