import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { stringify } from "../src/CanonicalJson.js"
import { JsonNumber } from "../src/Json.js"
import { batchIdempotencyKey, queueBatchKey } from "../src/Keys.js"
import { parse } from "../src/LosslessJson.js"

/**
 * Fixed vectors written by `test/vectors/generate.py` with python3 3.11 and SPEC §5's code: each `batch-NN.json`
 * and `queue-NN.json` with the key Python printed for it in `expected.json`.
 */
const vectors = fileURLToPath(new URL("./vectors/", import.meta.url))
const expected: Record<string, { key: string; canonical?: string; joined?: string }> = JSON.parse(
  readFileSync(`${vectors}expected.json`, "utf8")
)
const read = (name: string) => readFileSync(`${vectors}${name}`, "utf8")
const parseOrThrow = (text: string) => Either.getOrThrowWith(parse(text), (e) => new Error(e.message))
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe("Keys: the fixed vectors of the Python recipes", () => {
  it("has a vector for every file and a file for every vector", () => {
    const files = readdirSync(vectors).filter((f) => /^(batch|queue)-\d+\.json$/.test(f))
    assert.deepStrictEqual(files.sort(), Object.keys(expected).sort())
    assert.isAtLeast(files.length, 20)
  })

  for (const [name, vector] of Object.entries(expected)) {
    if (name.startsWith("batch-")) {
      it(`batchIdempotencyKey of ${name}`, () => {
        const records = parseOrThrow(read(name)) as ReadonlyArray<unknown>
        if (vector.canonical !== undefined) assert.strictEqual(stringify(records), vector.canonical)
        assert.strictEqual(batchIdempotencyKey(records), vector.key)
      })
    } else {
      it(`queueBatchKey of ${name}`, () => {
        const ids = JSON.parse(read(name)) as Array<string>
        assert.strictEqual(queueBatchKey(ids), vector.key)
      })
    }
  }
})

describe("Keys", () => {
  it("formats the MD5 digest as a lower-case UUID", () => {
    // md5("") = d41d8cd98f00b204e9800998ecf8427e
    assert.strictEqual(queueBatchKey([]), "d41d8cd9-8f00-b204-e980-0998ecf8427e")
    // md5("[]") = d751713988987e9331980363e24189ce
    assert.strictEqual(batchIdempotencyKey([]), "d7517139-8898-7e93-3198-0363e24189ce")
  })

  it("gives records built in code the key of the same records read from text", () => {
    const built = [{ user_id: "u-1", event: "café 😀", properties: { ms: 12, ratio: 0.25, ok: true, none: null } }]
    const text =
      '[{"event": "caf\\u00e9 \\ud83d\\ude00", "user_id": "u-1", "properties": {"ratio": 0.25, "none": null, "ok": true, "ms": 12}}]'
    assert.strictEqual(batchIdempotencyKey(built), batchIdempotencyKey(parseOrThrow(text) as ReadonlyArray<unknown>))
  })

  it("tells 2 and 2.0 apart when read from text, as Python does", () => {
    assert.notStrictEqual(
      batchIdempotencyKey([{ a: new JsonNumber("2") }]),
      batchIdempotencyKey([{ a: new JsonNumber("2.0") }])
    )
    assert.strictEqual(batchIdempotencyKey([{ a: 2 }]), batchIdempotencyKey([{ a: new JsonNumber("2") }]))
  })

  it("sorts queue message ids by code point and ignores their order (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 5 }), { maxLength: 8 }), (ids) => {
        const key = queueBatchKey(ids)
        assert.match(key, uuid)
        assert.strictEqual(queueBatchKey([...ids].reverse()), key)
      })
    )
    // U+FFFF sorts before U+1F600 by code point (by UTF-16 unit it would not); a single id is hashed as it is
    assert.strictEqual(queueBatchKey(["😀", "\uffff"]), queueBatchKey(["\uffff:😀"]))
    // the recipe joins with ":", so these collide in Python too
    assert.strictEqual(queueBatchKey(["a", "b"]), queueBatchKey(["a:b"]))
  })

  it("ignores key order, and reading the canonical text back gives the same key (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), (records) => {
        const key = batchIdempotencyKey(records)
        assert.match(key, uuid)
        const reordered = records.map((r) => Object.fromEntries(Object.entries(r).reverse()))
        assert.strictEqual(batchIdempotencyKey(reordered), key)
        assert.strictEqual(batchIdempotencyKey(parseOrThrow(stringify(records)) as Array<unknown>), key)
      })
    )
  })
})
