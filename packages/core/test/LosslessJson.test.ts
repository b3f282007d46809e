import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { isJsonNumber, type Json, JsonNumber } from "../src/Json.js"
import { type JsonParseError, parse, toPlain } from "../src/LosslessJson.js"

const parseOrThrow = (text: string): Json =>
  Either.getOrThrowWith(parse(text), (e) => new Error(`parse failed for ${JSON.stringify(text)}: ${e.message}`))

const errorOf = (text: string): JsonParseError =>
  Either.getOrThrowWith(Either.flip(parse(text)), () => new Error(`accepted ${JSON.stringify(text)}`))

/** The texts of every `JsonNumber` in document order. */
const numberTexts = (json: Json): Array<string> => {
  if (isJsonNumber(json)) return [json.text]
  if (Array.isArray(json)) return json.flatMap(numberTexts)
  if (json !== null && typeof json === "object") return Object.values(json).flatMap(numberTexts)
  return []
}

describe("LosslessJson.parse", () => {
  it("accepts what Python's json.loads accepts", () => {
    const cases: ReadonlyArray<readonly [string, unknown]> = [
      [" [1] ", [1]],
      [" \t\n\r1 \t\n\r", 1],
      ["NaN", Number.NaN],
      ["Infinity", Number.POSITIVE_INFINITY],
      ["-Infinity", Number.NEGATIVE_INFINITY],
      ['{"a":1,"a":2}', { a: 2 }],
      ['{"a":1,"b":2,"a":3}', { a: 3, b: 2 }],
      ['"\\ud800"', "\ud800"],
      ['"\\ud83d\\ude00"', "😀"],
      ['"\\uD83D\\uDE00 \\u00E9\\u00e9"', "😀 éé"],
      ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\/\b\f\n\r\t'],
      ['"\u007f\u0080\u2028😀"', "\u007f\u0080\u2028😀"],
      ["1E+2", 100],
      ["-0", -0],
      ["-0.0e-0", -0],
      ["0.5", 0.5],
      ["null", null],
      ["true", true],
      ["false", false],
      ['"x"', "x"],
      ["[]", []],
      ["{}", {}],
      ['[1,[2,{"a":[]}]]', [1, [2, { a: [] }]]],
      ['{ "a" : [ 1 , 2 ] , "b" : { } }', { a: [1, 2], b: {} }]
    ]
    for (const [text, expected] of cases) {
      assert.deepStrictEqual(toPlain(parseOrThrow(text)), expected, JSON.stringify(text))
    }
  })

  it("rejects what Python rejects, at the line and column Python reports", () => {
    // [text, line, column] as python3's json.loads reports them in JSONDecodeError
    const cases: ReadonlyArray<readonly [string, number, number]> = [
      ["[1,]", 1, 4],
      ['{"a":1,}', 1, 8],
      ["01", 1, 2],
      ["-01", 1, 3],
      ["1.", 1, 2],
      [".5", 1, 1],
      ["1e", 1, 2],
      ["1e+", 1, 2],
      ["1.5e+", 1, 4],
      ["+1", 1, 1],
      ["'a'", 1, 1],
      ['"\u0001"', 1, 2],
      ['"\t"', 1, 2],
      ['"\n"', 1, 2],
      ['"a\u0000"', 1, 3],
      ["[1 2]", 1, 4],
      ['{"a" 1}', 1, 6],
      ["{a:1}", 1, 2],
      ["", 1, 1],
      [" ", 1, 2],
      ["nul", 1, 1],
      ["True", 1, 1],
      ["nan", 1, 1],
      ["-NaN", 1, 1],
      ["-inf", 1, 1],
      ["infinity", 1, 1],
      ["Infinity1", 1, 9],
      ['"\\x"', 1, 2],
      ['"\\U0041"', 1, 2],
      ['"\\u12"', 1, 3],
      ['"\\u12G4"', 1, 3],
      ['"\\u', 1, 3],
      ['"abc', 1, 1],
      ['"\\', 1, 1],
      ["[", 1, 2],
      ['{"a":', 1, 6],
      ["\ufeff[]", 1, 1],
      ["[1]x", 1, 4],
      ["1 2", 1, 3],
      ["[1,,2]", 1, 4],
      ["[,]", 1, 2],
      ["{,}", 1, 2],
      ['{"a":1,,}', 1, 8],
      ["0x10", 1, 2],
      ["- 1", 1, 1],
      ["[-]", 1, 2],
      ["[1.e5]", 1, 3],
      ["\u00a0[1]", 1, 1],
      ["[1]\u2028", 1, 4],
      ["\u000b[1]", 1, 1],
      ["// c", 1, 1],
      ["undefined", 1, 1],
      ['{"a":1 "b":2}', 1, 8],
      ["[1}", 1, 3],
      ['{"a":1]', 1, 7],
      ['{\n "a": 1,\n "b": }', 3, 7]
    ]
    for (const [text, line, column] of cases) {
      const error = errorOf(text)
      assert.strictEqual(error._tag, "JsonParseError")
      assert.deepStrictEqual([error.line, error.column], [line, column], JSON.stringify(text))
      assert.include(error.message, `at line ${line}, column ${column}`)
    }
  })

  it("says what it found and where", () => {
    const message = (text: string) => errorOf(text).message
    assert.strictEqual(
      message('{\n "a": 1,\n "b": }'),
      "unexpected character '}' at line 3, column 7 (expecting a value)"
    )
    assert.strictEqual(message("[1, 2"), "unexpected end of input at line 1, column 6 (expecting ',' or ']')")
    assert.strictEqual(message('["a\tb"]'), "invalid control character U+0009 in string at line 1, column 4")
    assert.strictEqual(message('"\\q"'), 'invalid escape "\\\\q" at line 1, column 2')
    assert.strictEqual(message('["abc'), "unterminated string starting at line 1, column 2")
    // columns count code points: the emoji is one column, as in Python
    assert.strictEqual(message('["😀" x]'), "unexpected character 'x' at line 1, column 6 (expecting ',' or ']')")
    assert.strictEqual(message('["é" é]'), "unexpected character U+00E9 at line 1, column 6 (expecting ',' or ']')")
  })

  it("keeps every number as it was written", () => {
    const text =
      "[2, 2.0, 1E5, 1e+5, -0, -0.0, 123456789012345678901234567890, 1e400, 0.1, 5e-324, NaN, Infinity, -Infinity]"
    assert.deepStrictEqual(numberTexts(parseOrThrow(text)), [
      "2",
      "2.0",
      "1E5",
      "1e+5",
      "-0",
      "-0.0",
      "123456789012345678901234567890",
      "1e400",
      "0.1",
      "5e-324",
      "NaN",
      "Infinity",
      "-Infinity"
    ])
    const big = parseOrThrow("123456789012345678901234567890")
    assert.instanceOf(big, JsonNumber)
    assert.isTrue((big as JsonNumber).isInteger)
    assert.isFalse((parseOrThrow("2.0") as JsonNumber).isInteger)
    assert.isFalse((parseOrThrow("1E5") as JsonNumber).isInteger)
    assert.isFalse((parseOrThrow("NaN") as JsonNumber).isInteger)
  })

  it("reads a __proto__ key as an ordinary property", () => {
    const parsed = parseOrThrow('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, Json>
    assert.strictEqual(Object.getPrototypeOf(parsed), Object.prototype)
    assert.deepStrictEqual(Object.keys(parsed), ["__proto__", "a"])
    assert.isTrue(Object.hasOwn(parsed, "__proto__"))
    assert.isUndefined((parsed as { polluted?: unknown }).polluted)
    assert.isUndefined(({} as { polluted?: unknown }).polluted)
    const plain = toPlain(parsed) as Record<string, unknown>
    assert.strictEqual(Object.getPrototypeOf(plain), Object.prototype)
    assert.deepStrictEqual(Object.keys(plain), ["__proto__", "a"])
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(plain, "__proto__")?.value, { polluted: true })
    // a duplicate __proto__ key: the last wins, like any key
    const twice = parseOrThrow('{"__proto__": 1, "__proto__": 2}') as Record<string, Json>
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(twice, "__proto__")?.value, new JsonNumber("2"))
  })

  it("reads nesting of any depth without growing the stack", () => {
    const depth = 200_000
    const parsed = parseOrThrow(`${"[".repeat(depth)}1${"]".repeat(depth)}`)
    let plain = toPlain(parsed)
    for (let i = 0; i < depth; i++) plain = (plain as Array<unknown>)[0]
    assert.strictEqual(plain, 1)
    assert.isTrue(Either.isLeft(parse(`${"[".repeat(depth)}1${"]".repeat(depth - 1)}`)))
  })

  it("reads every text JSON.stringify writes back to the same value (property)", () => {
    // equal: as JSON.parse reads the same text (JSON.stringify writes -0 as 0, so -0 comes back as 0)
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value)
        assert.deepStrictEqual(toPlain(parseOrThrow(text)), JSON.parse(text))
      }),
      { numRuns: 500 }
    )
  })

  it("accepts exactly what JSON.parse accepts, apart from NaN and Infinity (property)", () => {
    // texts from JSON's own alphabet; without 'N' and 'I' the only difference from JSON.parse is gone
    const token = fc.constantFrom(...'[]{},:"\\ \t\n\r0123456789-+.eEtrufalsnx/ubé😀\u0001'.match(/./gsu)!)
    const tokens = fc.constantFrom("true", "false", "null", '"a"', '"\\u00e9"', "1.5e3", "-0", "[]", "{}", '{"k":')
    fc.assert(
      fc.property(fc.array(fc.oneof(token, tokens), { maxLength: 20 }), (parts) => {
        const text = parts.join("")
        let expected: unknown
        let accepted = true
        try {
          expected = JSON.parse(text)
        } catch {
          accepted = false
        }
        const result = parse(text)
        assert.strictEqual(Either.isRight(result), accepted, JSON.stringify(text))
        if (Either.isRight(result)) assert.deepStrictEqual(toPlain(result.right), expected)
      }),
      { numRuns: 3000 }
    )
  })

  it("never throws, whatever the text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 50 }), (text) => {
        const result = parse(text)
        assert.isTrue(Either.isLeft(result) || Either.isRight(result))
      }),
      { numRuns: 2000 }
    )
  })
})
