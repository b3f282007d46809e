import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { compareCodePoints, stringify } from "../src/CanonicalJson.js"
import { JsonNumber } from "../src/Json.js"

const n = (text: string) => new JsonNumber(text)

describe("CanonicalJson.stringify", () => {
  it("writes Python's separators and literals", () => {
    assert.strictEqual(stringify([1, 2]), "[1, 2]")
    assert.strictEqual(stringify({ b: [true, false, null], a: "x" }), '{"a": "x", "b": [true, false, null]}')
    assert.strictEqual(stringify([]), "[]")
    assert.strictEqual(stringify({}), "{}")
    assert.strictEqual(stringify([[], {}, [{}], { a: [] }]), '[[], {}, [{}], {"a": []}]')
    assert.strictEqual(stringify(null), "null")
    assert.strictEqual(stringify("x"), '"x"')
  })

  it("escapes as ensure_ascii does", () => {
    assert.strictEqual(stringify('"\\/'), '"\\"\\\\/"')
    assert.strictEqual(stringify("\n\r\t\b\f"), '"\\n\\r\\t\\b\\f"')
    assert.strictEqual(stringify("\u0000\u0001\u000b\u001f"), '"\\u0000\\u0001\\u000b\\u001f"')
    assert.strictEqual(stringify(" ~\u007f\u0080\u00ff"), '" ~\\u007f\\u0080\\u00ff"')
    assert.strictEqual(stringify("café"), '"caf\\u00e9"')
    assert.strictEqual(stringify("中\uABCD\uffff\u2028"), '"\\u4e2d\\uabcd\\uffff\\u2028"')
    assert.strictEqual(stringify("😀𝄞\u{10ffff}"), '"\\ud83d\\ude00\\ud834\\udd1e\\udbff\\udfff"')
    assert.strictEqual(stringify("\ud800 \udfff"), '"\\ud800 \\udfff"')
  })

  it("sorts keys by code point, not by UTF-16 unit", () => {
    const record = { "😀": 1, "\uffff": 2, "\ue000": 3, 𐀀: 4, a: 5, "": 6, A: 7, é: 8, "\ud7ff": 9, "\ud800": 10 }
    assert.strictEqual(
      stringify(record),
      '{"": 6, "A": 7, "a": 5, "\\u00e9": 8, "\\ud7ff": 9, "\\ud800": 10, "\\ue000": 3, "\\uffff": 2, ' +
        '"\\ud800\\udc00": 4, "\\ud83d\\ude00": 1}'
    )
    assert.strictEqual(
      stringify({ "a\uffff": 1, "a😀": 2, aa: 3, a: 4 }),
      '{"a": 4, "aa": 3, "a\\uffff": 1, "a\\ud83d\\ude00": 2}'
    )
    // insertion order never matters
    assert.strictEqual(stringify({ b: 1, a: 2, "10": 3, "9": 4 }), '{"10": 3, "9": 4, "a": 2, "b": 1}')
  })

  it("writes JS numbers: safe integers as ints, everything else as Python's float repr", () => {
    const cases: ReadonlyArray<readonly [number, string]> = [
      [0, "0"],
      [-0, "-0.0"],
      [42, "42"],
      [-7, "-7"],
      [Number.MAX_SAFE_INTEGER, "9007199254740991"],
      [2 ** 53, "9007199254740992.0"],
      [2 ** 60, "1.152921504606847e+18"],
      [1.5, "1.5"],
      [0.1, "0.1"],
      [0.30000000000000004, "0.30000000000000004"],
      [123456789.123, "123456789.123"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [1e-7, "1e-07"],
      [9.999999999999999e-5, "9.999999999999999e-05"],
      [123e-20, "1.23e-18"],
      [1e15 + 0.5, "1000000000000000.5"],
      [1e16, "1e+16"],
      [1.5e16, "1.5e+16"],
      [1e21, "1e+21"],
      [1e100, "1e+100"],
      [-6.02214076e23, "-6.02214076e+23"],
      [5e-324, "5e-324"],
      [2.2250738585072014e-308, "2.2250738585072014e-308"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      [Number.NEGATIVE_INFINITY, "-Infinity"]
    ]
    for (const [value, text] of cases) assert.strictEqual(stringify(value), text, String(value))
  })

  it("writes a JsonNumber as Python writes what json.load read from its text", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["2", "2"],
      ["2.0", "2.0"],
      ["2.00", "2.0"],
      ["2e0", "2.0"],
      ["1E5", "100000.0"],
      ["1e+5", "100000.0"],
      ["-0", "0"],
      ["-0.0", "-0.0"],
      ["0e0", "0.0"],
      ["9007199254740993", "9007199254740993"],
      ["123456789012345678901234567890", "123456789012345678901234567890"],
      ["-123456789012345678901234567890", "-123456789012345678901234567890"],
      ["123456789012345678901234567890.0", "1.2345678901234568e+29"],
      ["1e-7", "1e-07"],
      ["0.00001", "1e-05"],
      ["1e16", "1e+16"],
      ["9999999999999999.0", "1e+16"],
      ["4.9e-324", "5e-324"],
      ["1e400", "Infinity"],
      ["-1e400", "-Infinity"],
      ["1e-400", "0.0"],
      ["-1e-400", "-0.0"],
      ["NaN", "NaN"],
      ["Infinity", "Infinity"],
      ["-Infinity", "-Infinity"]
    ]
    for (const [text, expected] of cases) assert.strictEqual(stringify(n(text)), expected, text)
  })

  it("writes bigints as ints", () => {
    assert.strictEqual(
      stringify([2n ** 70n, -(10n ** 30n), 0n]),
      "[1180591620717411303424, -1000000000000000000000000000000, 0]"
    )
  })

  it("leaves out undefined properties, writes undefined items as null, applies toJSON", () => {
    assert.strictEqual(stringify({ a: undefined, b: 1 }), '{"b": 1}')
    assert.strictEqual(stringify({ a: undefined }), "{}")
    assert.strictEqual(stringify([undefined, 1]), "[null, 1]")
    assert.strictEqual(stringify({ at: new Date("2026-04-21T15:00:00Z") }), '{"at": "2026-04-21T15:00:00.000Z"}')
  })

  it("rejects values that are not JSON as defects", () => {
    const cyclic: Array<unknown> = []
    cyclic.push(cyclic)
    for (const value of [() => 1, Symbol("s"), undefined, { f: () => 1 }, [Symbol("s")], cyclic, n("1.")]) {
      assert.throws(() => stringify(value))
    }
    // the same object twice is not a cycle
    const shared = { a: 1 }
    assert.strictEqual(stringify([shared, shared]), '[{"a": 1}, {"a": 1}]')
  })

  it("writes nesting of any depth without growing the stack", () => {
    let value: unknown = 1
    for (let i = 0; i < 200_000; i++) value = i % 2 === 0 ? [value] : { k: value }
    const text = stringify(value)
    assert.strictEqual(text.length, 100_000 * "[]".length + 100_000 * '{"k": }'.length + 1)
  })

  it("reads back as the same value with JSON.parse (property)", () => {
    // equal: same structure, numbers equal as by Object.is (so -0 stays -0: it is written -0.0), keys in any order
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepStrictEqual(JSON.parse(stringify(value)), value)
      }),
      { numRuns: 1000 }
    )
  })

  it("is printable ASCII and independent of key insertion order (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: "binary", maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
        (record) => {
          const text = stringify(record)
          assert.match(text, /^[\x20-\x7e]*$/)
          const reversed = Object.fromEntries(Object.entries(record).reverse())
          assert.strictEqual(stringify(reversed), text)
        }
      ),
      { numRuns: 500 }
    )
  })
})

describe("compareCodePoints", () => {
  it("orders by code point, lone surrogates by their own value", () => {
    const sorted = ["😀", "\uffff", "b", "\ue000", "𐀀", "a", "", "\ud800", "\ud83dx", "\udc00", "ab", "a😀", "a\uffff"]
    sorted.sort(compareCodePoints)
    assert.deepStrictEqual(sorted, [
      "",
      "a",
      "ab",
      "a\uffff",
      "a😀",
      "b",
      "\ud800",
      "\ud83dx",
      "\udc00",
      "\ue000",
      "\uffff",
      "𐀀",
      "😀"
    ])
  })

  it("agrees with comparing arrays of code points (property)", () => {
    const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!)
    const reference = (a: string, b: string): number => {
      const x = cps(a)
      const y = cps(b)
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
      return x.length - y.length
    }
    const text = fc.string({
      unit: fc.constantFrom("a", "\ud800", "\udc00", "\ud83d", "\ude00", "\ue000", "\uffff", "😀"),
      maxLength: 5
    })
    fc.assert(
      fc.property(text, text, (a, b) => {
        assert.strictEqual(Math.sign(compareCodePoints(a, b)), Math.sign(reference(a, b)))
      }),
      { numRuns: 5000 }
    )
  })
})
