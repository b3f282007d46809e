/**
 * Canonical JSON text, byte for byte what Python writes with `json.dumps(value, sort_keys=True, ensure_ascii=True)`:
 * the text the idempotency keys of SPEC §5 are hashed from. Separators `", "` and `": "`, object keys sorted by
 * Unicode code point, every character outside printable ASCII escaped (`\u00e9`, `\u007f`, surrogate pairs for
 * astral characters), and numbers as Python writes them.
 */
import { isJsonNumber, isJsonNumberText, type Json, type JsonNumber } from "./Json.js"

/**
 * Writes a value as Python's `json.dumps(value, sort_keys=True, ensure_ascii=True)` writes the equivalent Python
 * value.
 *
 * Numbers:
 * - a `JsonNumber` (read from text by `LosslessJson.parse`) is written as Python writes what `json.load` made of
 *   it: integer text as the exact integer (`-0` → `0`, big integers exact), any other text as Python's `repr` of
 *   the nearest double (`2.0`, `1e-05`, `1e+16`, `-0.0`; `1e400` → `Infinity`); `NaN`, `Infinity`, `-Infinity`
 *   as they are.
 * - a JS `number` has lost its written form, so this rule decides: a safe integer other than `-0` is written as a
 *   Python int (`3`); every other number as Python's `repr` of that float (`1.5`, `-0.0`, `1e+21`, `2 ** 60` →
 *   `1.152921504606847e+18`, `NaN`, `Infinity`). Python would write `3.0` for a float 3.0: use a `JsonNumber`
 *   (`new JsonNumber("3.0")`) when that distinction matters.
 * - a `bigint` is written as an int.
 *
 * Other values: strings, `true`, `false`, `null`, arrays and objects (own enumerable string keys) as JSON does; a
 * value with a `toJSON` method (a `Date`) is replaced by its result, as `JSON.stringify` does; object properties
 * whose value is `undefined` are left out and `undefined` array items are written `null`, as `JSON.stringify`
 * does. Functions, symbols, a top-level `undefined`, invalid `JsonNumber` text and cycles are defects: they throw.
 */
export const stringify = (value: Json | unknown): string => {
  const out = new AsciiWriter()
  const stack: Array<Frame> = []
  // the containers on the path to the current value, tracked once the path is deep enough for a cycle to matter
  let ancestors: Set<object> | undefined
  let current = prepare(value, "")
  if (current === undefined) throw new TypeError("CanonicalJson.stringify: undefined is not JSON")
  for (;;) {
    // write `current`, or open its container
    if (current === null) {
      out.ascii("null")
    } else {
      switch (typeof current) {
        case "string":
          out.quoted(current)
          break
        case "number":
          out.ascii(Number.isSafeInteger(current) && !Object.is(current, -0) ? String(current) : floatRepr(current))
          break
        case "boolean":
          out.ascii(current ? "true" : "false")
          break
        case "bigint":
          out.ascii(current.toString())
          break
        case "object": {
          if (isJsonNumber(current)) {
            out.ascii(numberText(current))
            break
          }
          if (ancestors === undefined && stack.length >= cycleCheckDepth) {
            ancestors = new Set(stack.map((frame) => frame.container))
          }
          if (ancestors !== undefined) {
            if (ancestors.has(current)) throw new TypeError("CanonicalJson.stringify: a cyclic value is not JSON")
            ancestors.add(current)
          }
          if (Array.isArray(current)) {
            stack.push({ container: current, keys: undefined, index: 0, written: 0 })
            out.ascii("[")
          } else {
            stack.push({ container: current, keys: Object.keys(current).sort(compareCodePoints), index: 0, written: 0 })
            out.ascii("{")
          }
          break
        }
        default:
          throw new TypeError(`CanonicalJson.stringify: a ${typeof current} is not JSON`)
      }
    }
    // find the next value to write, closing every container that is complete
    for (;;) {
      const frame = stack[stack.length - 1]
      if (frame === undefined) return out.toString()
      const keys = frame.keys
      if (keys === undefined) {
        const array = frame.container as ReadonlyArray<unknown>
        if (frame.index < array.length) {
          const i = frame.index++
          if (i > 0) out.ascii(", ")
          current = prepare(array[i], i)
          if (current === undefined) current = null
          break
        }
        out.ascii("]")
      } else {
        const record = frame.container as Readonly<Record<string, unknown>>
        current = undefined
        while (frame.index < keys.length) {
          const key = keys[frame.index++]!
          current = prepare(record[key], key)
          if (current === undefined) continue
          if (frame.written++ > 0) out.ascii(", ")
          out.quoted(key)
          out.ascii(": ")
          break
        }
        if (current !== undefined) break
        out.ascii("}")
      }
      stack.pop()
      ancestors?.delete(frame.container)
    }
  }
}

/** A cycle makes the path endless: checking for one only from this depth on costs nothing on ordinary records. */
const cycleCheckDepth = 1000

/**
 * Orders strings by Unicode code point, as Python's `sorted` and `<` on `str` do. JS's default `sort` compares
 * UTF-16 units, which puts astral characters (surrogate pairs) before U+E000–U+FFFF; this does not.
 */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if (x < 0xd800 && y < 0xd800) return x - y
    // The strings agree before `i`. If unit `i` is the low half of a pair in either string, the code points that
    // differ start at `i - 1`, where both strings have the same high half.
    let at = i
    if (i > 0 && isHigh(a.charCodeAt(i - 1)) && (isLow(x) || isLow(y))) at = i - 1
    return a.codePointAt(at)! - b.codePointAt(at)!
  }
  return a.length - b.length
}

const isHigh = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff
const isLow = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff

/**
 * An open array (`keys` undefined) or object (`keys` sorted): the index of its next item or key, and how many values
 * it has written so far.
 */
interface Frame {
  readonly container: object
  readonly keys: ReadonlyArray<string> | undefined
  index: number
  written: number
}

/** Applies `toJSON` as `JSON.stringify` does (a `JsonNumber` is written from its text instead). */
const prepare = (value: unknown, key: string | number): unknown => {
  if (typeof value === "object" && value !== null && !isJsonNumber(value)) {
    const toJSON = (value as { readonly toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return toJSON.call(value, String(key))
  }
  return value
}

const numberText = (number: JsonNumber): string => {
  const text = number.text
  if (!isJsonNumberText(text)) throw new TypeError(`CanonicalJson.stringify: invalid JsonNumber text ${text}`)
  if (number.isInteger) return text === "-0" ? "0" : text
  return floatRepr(Number(text))
}

/**
 * Python's `repr(float)`: the shortest digits that read back as the same double (JS's `Number#toString` picks the
 * same digits), in positional form when the decimal exponent is in [-4, 16) and in scientific form otherwise.
 */
const floatRepr = (x: number): string => {
  if (Number.isNaN(x)) return "NaN"
  if (x === Number.POSITIVE_INFINITY) return "Infinity"
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity"
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0"
  const magnitude = Math.abs(x)
  // In this range `String` is positional too and only the `.0` of integral values differs.
  if (magnitude >= 1e-4 && magnitude < 1e16) return Number.isInteger(x) ? `${x}.0` : String(x)
  // Elsewhere: `d.ddde±x` from `toExponential()` (shortest digits), with Python's exponent of at least two digits.
  const scientific = x.toExponential()
  const e = scientific.indexOf("e")
  const exponent = scientific.slice(e + 2)
  return `${scientific.slice(0, e)}e${scientific[e + 1]}${exponent.length === 1 ? "0" : ""}${exponent}`
}

/** The escapes of the code units below 0x80 that are not written as they are (the others: ""). */
const asciiEscapes: ReadonlyArray<string> = Array.from({ length: 0x80 }, (_, c) => {
  switch (c) {
    case 0x22:
      return '\\"'
    case 0x5c:
      return "\\\\"
    case 0x0a:
      return "\\n"
    case 0x0d:
      return "\\r"
    case 0x09:
      return "\\t"
    case 0x08:
      return "\\b"
    case 0x0c:
      return "\\f"
    default:
      return c < 0x20 || c === 0x7f ? `\\u${c.toString(16).padStart(4, "0")}` : ""
  }
})

const hexDigits = "0123456789abcdef"
const decoder = new TextDecoder()

/**
 * The output: bytes, since it is ASCII. Appending each piece to a JS string would build a rope of millions of
 * small strings, and the garbage collector would spend most of the time on them.
 */
class AsciiWriter {
  private bytes = new Uint8Array(4096)
  private length = 0

  /** Makes room for `n` more bytes, and returns the buffer to write them into. */
  private reserve(n: number): Uint8Array {
    if (this.length + n > this.bytes.length) {
      const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n))
      next.set(this.bytes.subarray(0, this.length))
      this.bytes = next
    }
    return this.bytes
  }

  /** Appends text known to be ASCII. */
  ascii(s: string): void {
    const bytes = this.reserve(s.length)
    let at = this.length
    for (let i = 0; i < s.length; i++) bytes[at++] = s.charCodeAt(i)
    this.length = at
  }

  /**
   * Appends a JSON string literal as CPython's `py_encode_basestring_ascii` writes it. Escaping each UTF-16 unit
   * gives its output exactly: an astral character is written as its surrogate pair, and so is a lone surrogate.
   */
  quoted(s: string): void {
    // room for `s` unescaped and both quotes; each escape makes room for its own extra bytes
    let bytes = this.reserve(s.length + 2)
    let at = this.length
    bytes[at++] = 0x22
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
        bytes[at++] = c
        continue
      }
      this.length = at
      bytes = this.reserve(s.length - i + 6)
      if (c < 0x80) {
        const short = asciiEscapes[c]!
        for (let k = 0; k < short.length; k++) bytes[at++] = short.charCodeAt(k)
      } else {
        bytes[at++] = 0x5c
        bytes[at++] = 0x75
        bytes[at++] = hexDigits.charCodeAt(c >> 12)
        bytes[at++] = hexDigits.charCodeAt((c >> 8) & 15)
        bytes[at++] = hexDigits.charCodeAt((c >> 4) & 15)
        bytes[at++] = hexDigits.charCodeAt(c & 15)
      }
    }
    bytes[at++] = 0x22
    this.length = at
  }

  toString(): string {
    return decoder.decode(this.bytes.subarray(0, this.length))
  }
}
