import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { isExactNumberText, parse } from "../src/ExactJson.js"
import { isJsonNumber } from "../src/Json.js"
import * as LosslessJson from "../src/LosslessJson.js"
import { jsonText, numberLiteral } from "./arbitraries/jsonText.js"

/** The decimal value a number literal denotes, as a sign, digits without leading zeros and an exponent. */
const decimalOf = (text: string): { readonly sign: string; readonly digits: string; readonly exponent: bigint } => {
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(
    text
  )!
  const digits = `${whole}${fraction}`.replace(/^0+/, "").replace(/0+$/, "")
  const trailingZeros = `${whole}${fraction}`.replace(/^0+/, "").length - digits.length
  return digits === ""
    ? { sign: "", digits: "0", exponent: 0n }
    : { sign, digits, exponent: BigInt(exponent) - BigInt(fraction.length) + BigInt(trailingZeros) }
}

/** Exact by definition: the double's shortest text (what `JSON.stringify` writes) denotes the literal's value. */
const isExactByDefinition = (text: string): boolean => {
  const value = Number(text)
  if (!Number.isFinite(value)) return false
  const [written, literal] = [decimalOf(String(value).replace("e+", "e")), decimalOf(text)]
  return written.digits === literal.digits && written.exponent === literal.exponent && written.sign === literal.sign
}

/** What `parse` must answer: `JSON.parse`'s value, with each inexact number kept as a `JsonNumber`. */
const expectedOf = (text: string): unknown =>
  LosslessJson.toPlain(Either.getOrThrow(LosslessJson.parse(text)), (number) => !isExactByDefinition(number.text))

/** Whether `JSON.parse` reads `text` (the law is about text it reads). */
const isJsonText = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

describe("ExactJson", () => {
  it("calls a number literal exact exactly when its double is written back as the same value (property)", () => {
    const literal = fc.oneof(numberLiteral, fc.double({ noNaN: true, noDefaultInfinity: true }).map(String))
    fc.assert(
      fc.property(literal, (text) => {
        assert.strictEqual(isExactNumberText(text), isExactByDefinition(text), text)
      }),
      { numRuns: 5000 }
    )
  })

  it("reads JSON as JSON.parse does, keeping only the inexact numbers as written (property)", () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        fc.pre(isJsonText(text))
        assert.deepStrictEqual(parse(text), expectedOf(text), text)
      }),
      { numRuns: 2000 }
    )
  })

  it("tells numbers from strings of number characters beside them (property)", () => {
    // Long decimals written by JavaScript (exact), numbers a double cannot hold, and strings that look like either.
    const numberish = fc.stringMatching(/^[-+.0-9eE]{1,30}$/)
    const item = fc.oneof(
      numberLiteral,
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      numberLiteral.map((literal) => JSON.stringify(literal)),
      numberish.map((chars) => JSON.stringify(chars))
    )
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), (items) => {
        const text = `[${items.join(",")}]`
        fc.pre(isJsonText(text))
        assert.deepStrictEqual(parse(text), expectedOf(text), text)
      }),
      { numRuns: 3000 }
    )
  })

  it("keeps what a double cannot hold, and only that", () => {
    const text = `{"a":0.1,"b":142.71428571428572,"c":12345678901234567890,"d":"12345678901234567890","e":1e400,"f":1.0}`
    const value = parse(text) as Record<string, unknown>
    assert.deepStrictEqual([value.a, value.b, value.d, value.f], [0.1, 142.71428571428572, "12345678901234567890", 1])
    assert.isTrue(isJsonNumber(value.c) && value.c.text === "12345678901234567890")
    assert.isTrue(isJsonNumber(value.e) && value.e.text === "1e400")
  })
})
