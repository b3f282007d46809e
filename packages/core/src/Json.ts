/**
 * The JSON value model of the core. It differs from what `JSON.parse` returns in one way: a number read from text
 * can be kept as a `JsonNumber`, its written form, so `2.0` stays a float and `123456789012345678901234567890`
 * stays exact. That is what makes idempotency keys computed from a file equal to Python's `json.load` of it.
 */
import { Predicate } from "effect"

/** The brand every `JsonNumber` carries. */
export const JsonNumberTypeId: unique symbol = Symbol.for("@batchwrite/core/JsonNumber")

/** The type of `JsonNumberTypeId`. */
export type JsonNumberTypeId = typeof JsonNumberTypeId

/**
 * A number as it was written in JSON text: `text` is a JSON number literal (`-12`, `2.0`, `1E5`,
 * `123456789012345678901234567890`) or one of the literals `NaN`, `Infinity`, `-Infinity` that Python's `json`
 * module reads and writes. Build one from untrusted text only after checking it with `isJsonNumberText`.
 */
export class JsonNumber {
  declare readonly [JsonNumberTypeId]: JsonNumberTypeId
  constructor(readonly text: string) {}

  /**
   * True when Python's `json` reads the text as an `int`: no fraction, no exponent, not `NaN` or `Infinity`.
   */
  get isInteger(): boolean {
    return isIntegerText(this.text)
  }

  /** The nearest double, as `JSON.parse` (or Python's `float`) would give it. */
  get value(): number {
    return Number(this.text)
  }

  /** The written form. */
  toString(): string {
    return this.text
  }

  /** `JSON.stringify` writes the nearest double (use `CanonicalJson.stringify` to keep the written form). */
  toJSON(): number {
    return this.value
  }
}

// On the prototype, so a file of millions of numbers does not pay for it per number.
Object.defineProperty(JsonNumber.prototype, JsonNumberTypeId, { value: JsonNumberTypeId })

/** A JSON value: what `LosslessJson.parse` returns and what `CanonicalJson.stringify` writes. */
export type Json =
  | null
  | boolean
  | string
  | number
  | JsonNumber
  | ReadonlyArray<Json>
  | { readonly [key: string]: Json }

/** A JSON object of the model. */
export type JsonObject = { readonly [key: string]: Json }

/** A JSON array of the model. */
export type JsonArray = ReadonlyArray<Json>

/** Tells whether a value is a `JsonNumber`. */
export const isJsonNumber = (u: unknown): u is JsonNumber => Predicate.hasProperty(u, JsonNumberTypeId)

/** Tells whether `text` is a valid `JsonNumber` text: a JSON number literal, `NaN`, `Infinity` or `-Infinity`. */
export const isJsonNumberText = (text: string): boolean => {
  if (text === "NaN" || text === "Infinity" || text === "-Infinity") return true
  const end = text.length
  let i = 0
  if (text.charCodeAt(i) === 0x2d) i++
  const first = text.charCodeAt(i)
  if (first === 0x30) {
    i++
  } else if (first >= 0x31 && first <= 0x39) {
    while (i < end && isDigit(text.charCodeAt(i))) i++
  } else {
    return false
  }
  if (i < end && text.charCodeAt(i) === 0x2e) {
    const start = ++i
    while (i < end && isDigit(text.charCodeAt(i))) i++
    if (i === start) return false
  }
  if (i < end && (text.charCodeAt(i) | 0x20) === 0x65) {
    i++
    const sign = text.charCodeAt(i)
    if (sign === 0x2b || sign === 0x2d) i++
    const start = i
    while (i < end && isDigit(text.charCodeAt(i))) i++
    if (i === start) return false
  }
  return i === end
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39

const isIntegerText = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // '.', 'e', 'E', or a letter of NaN / Infinity
    if (c === 0x2e || c > 0x39) return false
  }
  return true
}
