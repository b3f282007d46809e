/**
 * The idempotency fingerprint (SPEC §1.7, issue 17 point 4): the same JSON value in other bytes (key order, spacing)
 * has the same fingerprint; another value has another one.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { canonicalJson, fingerprintOf, sortedKeys } from "../../src/http/IdempotentRequest.js"

/** The value with every object's keys put in the order `order` gives. */
const withKeys =
  (order: (keys: Array<string>) => Array<string>) =>
  (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(withKeys(order))
    if (value === null || typeof value !== "object") return value
    const out: Record<string, unknown> = Object.create(null)
    for (const key of order(Object.keys(value))) out[key] = withKeys(order)((value as Record<string, unknown>)[key])
    return out
  }

/** Every object's keys in reverse order. */
const reversed = withKeys((keys) => keys.reverse())

/** Every object's keys sorted (the test's own oracle). */
const keysSorted = withKeys((keys) => keys.sort())

const json = fc.jsonValue({ depthSize: "small" })

describe("fingerprintOf", () => {
  it("is the same for the same value written with another key order and spacing", () => {
    fc.assert(
      fc.property(json, (value) => {
        assert.strictEqual(
          fingerprintOf(JSON.stringify(value)),
          fingerprintOf(JSON.stringify(reversed(value), null, 2))
        )
      }),
      { numRuns: 500 }
    )
  })

  it("is shared by two values exactly when they are equal but for key order", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const same = fingerprintOf(JSON.stringify(a)) === fingerprintOf(JSON.stringify(b))
        assert.strictEqual(same, JSON.stringify(keysSorted(a)) === JSON.stringify(keysSorted(b)))
      }),
      { numRuns: 500 }
    )
    assert.notStrictEqual(
      fingerprintOf('{"records":[{"n":1},{"n":2}]}'),
      fingerprintOf('{"records":[{"n":2},{"n":1}]}')
    )
  })

  it("is the fingerprint of JSON.stringify with the sorting replacer (fingerprints stored before stay valid)", () => {
    const before = (text: string) => {
      let canonical: string
      try {
        canonical = `json ${JSON.stringify(JSON.parse(text), sortedKeys)}`
      } catch {
        canonical = `text ${text}`
      }
      return createHash("sha256").update(canonical, "utf8").digest("hex")
    }
    fc.assert(
      fc.property(json, (value) => {
        const text = JSON.stringify(reversed(value))
        assert.strictEqual(canonicalJson(text), JSON.stringify(JSON.parse(text), sortedKeys))
        assert.strictEqual(fingerprintOf(text), before(text))
      }),
      { numRuns: 500 }
    )
    // Integer-like keys (enumerated first), "__proto__", deep nesting, and nesting deeper than either writer goes.
    const nested = (depth: number) => `${"[".repeat(depth)}{"b":1,"a":2}${"]".repeat(depth)}`
    for (const text of [
      '{"10":1,"9":2,"b":{"__proto__":{"z":1,"y":2},"a":[{"d":1,"c":2}]}}',
      nested(1_000),
      nested(50_000)
    ]) {
      assert.strictEqual(fingerprintOf(text), before(text))
    }
  })

  it("takes text that is not JSON as it is", () => {
    assert.notStrictEqual(fingerprintOf("{"), fingerprintOf("{ "))
    assert.strictEqual(fingerprintOf("{"), fingerprintOf("{"))
  })
})
