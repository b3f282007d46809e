/**
 * A JSON reader that keeps every number as it was written (`JsonNumber`) and accepts exactly the texts Python's
 * `json.loads` accepts: RFC 8259 JSON plus the literals `NaN`, `Infinity` and `-Infinity`; duplicate keys keep the
 * last value; lone surrogate escapes such as `"\ud800"` are kept. It rejects what Python rejects: trailing commas,
 * leading zeros, single quotes, raw control characters inside strings, a leading byte order mark.
 *
 * The scanner is iterative, so any nesting depth is read without growing the call stack.
 */
import { Data, Either } from "effect"
import { isJsonNumber, type Json, JsonNumber } from "./Json.js"

/** The text is not JSON. `message` says what was found where, e.g. "unexpected character '}' at line 3, column 7". */
export class JsonParseError extends Data.TaggedError("JsonParseError")<{
  readonly message: string
  /** 1-based line: lines end at `\n`. */
  readonly line: number
  /** 1-based column, in Unicode code points. */
  readonly column: number
  /** 0-based offset in UTF-16 code units. */
  readonly offset: number
}> {}

/**
 * Reads JSON text into the `Json` model, keeping each number's written form as a `JsonNumber`. Objects are plain
 * objects whose properties are all own data properties (a `"__proto__"` key is an ordinary property).
 */
export const parse = (text: string): Either.Either<Json, JsonParseError> => {
  try {
    return Either.right(new Parser(text).run())
  } catch (e) {
    if (e instanceof Failure) return Either.left(toError(text, e))
    throw e
  }
}

/**
 * Converts a `Json` value to the plain value `JSON.parse` would give for the same text: each `JsonNumber` becomes
 * the nearest JS number (except those `keep` says to keep as they are), and objects become ordinary objects (a
 * `"__proto__"` key stays an own property).
 */
export const toPlain = (json: Json, keep: (number: JsonNumber) => boolean = () => false): unknown => {
  const plainShallow = plainShallowKeeping(keep)
  const root = plainShallow(json)
  if (root.children === undefined) return root.value
  const stack: Array<PlainFrame> = [root.children]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    if (frame.index === frame.sources.length) {
      stack.pop()
      continue
    }
    const i = frame.index++
    const converted = plainShallow(frame.sources[i]!)
    if (Array.isArray(frame.target)) frame.target.push(converted.value)
    else setProperty(frame.target, frame.keys![i]!, converted.value)
    if (converted.children !== undefined) stack.push(converted.children)
  }
  return root.value
}

interface PlainFrame {
  readonly target: Array<unknown> | Record<string, unknown>
  readonly keys: ReadonlyArray<string> | undefined
  readonly sources: ReadonlyArray<Json>
  index: number
}

const plainShallowKeeping =
  (keep: (number: JsonNumber) => boolean) =>
  (json: Json): { readonly value: unknown; readonly children?: PlainFrame } => {
    if (json === null || typeof json !== "object") return { value: json }
    if (isJsonNumber(json)) return { value: keep(json) ? json : json.value }
    if (Array.isArray(json)) {
      const target: Array<unknown> = []
      return { value: target, children: { target, keys: undefined, sources: json, index: 0 } }
    }
    const object = json as { readonly [key: string]: Json }
    const keys = Object.keys(object)
    const target: Record<string, unknown> = {}
    return { value: target, children: { target, keys, sources: keys.map((k) => object[k]!), index: 0 } }
  }

const setProperty = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  } else {
    target[key] = value
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The scanner

/** Internal: where and what, turned into a `JsonParseError` (with line and column) only when the parse fails. */
class Failure {
  constructor(
    readonly offset: number,
    readonly problem: "char" | "end" | "control" | "escape" | "unicode" | "unterminated" | "bom",
    readonly expected: string
  ) {}
}

const TAB = 0x09
const NEWLINE = 0x0a
const RETURN = 0x0d
const SPACE = 0x20
const QUOTE = 0x22
const PLUS = 0x2b
const COMMA = 0x2c
const MINUS = 0x2d
const DOT = 0x2e
const SLASH = 0x2f
const ZERO = 0x30
const ONE = 0x31
const NINE = 0x39
const COLON = 0x3a
const UPPER_E = 0x45
const UPPER_I = 0x49
const UPPER_N = 0x4e
const OPEN_BRACKET = 0x5b
const BACKSLASH = 0x5c
const CLOSE_BRACKET = 0x5d
const LOWER_B = 0x62
const LOWER_E = 0x65
const LOWER_F = 0x66
const LOWER_N = 0x6e
const LOWER_R = 0x72
const LOWER_T = 0x74
const LOWER_U = 0x75
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const BOM = 0xfeff

/** An open array or object: the container and, for an object, the key whose value is being read. */
interface Frame {
  readonly array: Array<Json> | undefined
  readonly object: Record<string, Json> | undefined
  key: string
}

const EXPECT_VALUE = "expecting a value"

class Parser {
  private pos = 0
  private readonly end: number

  constructor(private readonly text: string) {
    this.end = text.length
  }

  run(): Json {
    const text = this.text
    if (text.charCodeAt(0) === BOM) throw new Failure(0, "bom", EXPECT_VALUE)
    const stack: Array<Frame> = []
    let value: Json
    scan: for (;;) {
      this.skipWhitespace()
      const c = text.charCodeAt(this.pos)
      if (c === OPEN_BRACKET) {
        this.pos++
        this.skipWhitespace()
        if (text.charCodeAt(this.pos) === CLOSE_BRACKET) {
          this.pos++
          value = []
        } else {
          stack.push({ array: [], object: undefined, key: "" })
          continue
        }
      } else if (c === OPEN_BRACE) {
        this.pos++
        this.skipWhitespace()
        if (text.charCodeAt(this.pos) === CLOSE_BRACE) {
          this.pos++
          value = {}
        } else {
          stack.push({ array: undefined, object: {}, key: this.readKey() })
          continue
        }
      } else {
        value = this.readScalar(c)
      }

      // A value is complete: store it in its container, then close every container that ends here.
      for (;;) {
        const frame = stack[stack.length - 1]
        if (frame === undefined) break scan
        this.skipWhitespace()
        const next = text.charCodeAt(this.pos)
        if (frame.array !== undefined) {
          frame.array.push(value)
          if (next === COMMA) {
            this.pos++
            continue scan
          }
          if (next !== CLOSE_BRACKET) throw this.unexpected("expecting ',' or ']'")
          this.pos++
          value = frame.array
        } else {
          const object = frame.object!
          if (frame.key === "__proto__") {
            Object.defineProperty(object, "__proto__", { value, writable: true, enumerable: true, configurable: true })
          } else {
            object[frame.key] = value
          }
          if (next === COMMA) {
            this.pos++
            this.skipWhitespace()
            frame.key = this.readKey()
            continue scan
          }
          if (next !== CLOSE_BRACE) throw this.unexpected("expecting ',' or '}'")
          this.pos++
          value = object
        }
        stack.pop()
      }
    }
    this.skipWhitespace()
    if (this.pos < this.end) throw this.unexpected("expecting the end of the text")
    return value
  }

  private skipWhitespace(): void {
    const text = this.text
    let pos = this.pos
    for (;;) {
      const c = text.charCodeAt(pos)
      if (c === SPACE || c === NEWLINE || c === RETURN || c === TAB) pos++
      else break
    }
    this.pos = pos
  }

  private unexpected(expected: string): Failure {
    return new Failure(this.pos, this.pos < this.end ? "char" : "end", expected)
  }

  /** Reads `"key"` and the `:` after it, leaving `pos` on the value. */
  private readKey(): string {
    if (this.text.charCodeAt(this.pos) !== QUOTE) throw this.unexpected("expecting a property name in double quotes")
    const key = this.readString()
    this.skipWhitespace()
    if (this.text.charCodeAt(this.pos) !== COLON) throw this.unexpected("expecting ':'")
    this.pos++
    return key
  }

  private readScalar(c: number): Json {
    const text = this.text
    switch (c) {
      case QUOTE:
        return this.readString()
      case LOWER_N:
        return this.readLiteral("null", null)
      case LOWER_T:
        return this.readLiteral("true", true)
      case LOWER_F:
        return this.readLiteral("false", false)
      case UPPER_N:
        return this.readLiteral("NaN", new JsonNumber("NaN"))
      case UPPER_I:
        return this.readLiteral("Infinity", new JsonNumber("Infinity"))
      case MINUS:
        if (text.charCodeAt(this.pos + 1) === UPPER_I) return this.readLiteral("-Infinity", new JsonNumber("-Infinity"))
        return this.readNumber()
      default:
        if (c >= ZERO && c <= NINE) return this.readNumber()
        throw this.unexpected(EXPECT_VALUE)
    }
  }

  private readLiteral<A extends Json>(word: string, value: A): A {
    if (!this.text.startsWith(word, this.pos)) throw this.unexpected(EXPECT_VALUE)
    this.pos += word.length
    return value
  }

  /** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; a `.` or `e` without digits is left for the caller to reject. */
  private readNumber(): JsonNumber {
    const text = this.text
    const start = this.pos
    let pos = start
    if (text.charCodeAt(pos) === MINUS) pos++
    const first = text.charCodeAt(pos)
    if (first === ZERO) {
      pos++
    } else if (first >= ONE && first <= NINE) {
      pos++
      while (isDigit(text.charCodeAt(pos))) pos++
    } else {
      throw this.unexpected(EXPECT_VALUE)
    }
    if (text.charCodeAt(pos) === DOT && isDigit(text.charCodeAt(pos + 1))) {
      pos += 2
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    const e = text.charCodeAt(pos)
    if (e === LOWER_E || e === UPPER_E) {
      let p = pos + 1
      const sign = text.charCodeAt(p)
      if (sign === PLUS || sign === MINUS) p++
      if (isDigit(text.charCodeAt(p))) {
        p++
        while (isDigit(text.charCodeAt(p))) p++
        pos = p
      }
    }
    this.pos = pos
    return new JsonNumber(text.slice(start, pos))
  }

  /** Reads a string starting at its opening quote. */
  private readString(): string {
    const text = this.text
    const end = this.end
    const open = this.pos
    let pos = open + 1
    let chunkStart = pos
    let out = ""
    for (;;) {
      if (pos >= end) throw new Failure(open, "unterminated", "")
      const c = text.charCodeAt(pos)
      if (c === QUOTE) {
        this.pos = pos + 1
        return chunkStart === open + 1 ? text.slice(chunkStart, pos) : out + text.slice(chunkStart, pos)
      }
      if (c === BACKSLASH) {
        out += text.slice(chunkStart, pos)
        if (pos + 1 >= end) throw new Failure(open, "unterminated", "")
        const escaped = text.charCodeAt(pos + 1)
        switch (escaped) {
          case QUOTE:
            out += '"'
            break
          case BACKSLASH:
            out += "\\"
            break
          case SLASH:
            out += "/"
            break
          case LOWER_B:
            out += "\b"
            break
          case LOWER_F:
            out += "\f"
            break
          case LOWER_N:
            out += "\n"
            break
          case LOWER_R:
            out += "\r"
            break
          case LOWER_T:
            out += "\t"
            break
          case LOWER_U: {
            const unit = hex4(text, pos + 2)
            if (unit < 0) throw new Failure(pos + 1, "unicode", "")
            // A surrogate pair written as two escapes is one code point in Python; as UTF-16 units it is the same
            // two units, so every escape maps to exactly its unit.
            out += String.fromCharCode(unit)
            pos += 4
            break
          }
          default:
            throw new Failure(pos, "escape", "")
        }
        pos += 2
        chunkStart = pos
        continue
      }
      if (c < SPACE) throw new Failure(pos, "control", "")
      pos++
    }
  }
}

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE

/** The value of the 4 hex digits at `at`, or -1. */
const hex4 = (text: string, at: number): number => {
  let unit = 0
  for (let i = at; i < at + 4; i++) {
    const c = text.charCodeAt(i)
    let digit: number
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x57
    else if (c >= 0x41 && c <= 0x46) digit = c - 0x37
    else return -1
    unit = unit * 16 + digit
  }
  return unit
}

const toError = (text: string, failure: Failure): JsonParseError => {
  const { offset } = failure
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++
    lineStart = i + 1
  }
  let column = 1
  for (let i = lineStart; i < offset; i++) {
    const c = text.charCodeAt(i)
    // the high half of a surrogate pair counts as the pair's one code point
    if (!(c >= 0xd800 && c <= 0xdbff && i + 1 < offset && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00)) column++
  }
  const where = `at line ${line}, column ${column}`
  let message: string
  switch (failure.problem) {
    case "char":
      message = `unexpected character ${describe(text, offset)} ${where} (${failure.expected})`
      break
    case "end":
      message = `unexpected end of input ${where} (${failure.expected})`
      break
    case "control":
      message = `invalid control character ${describe(text, offset)} in string ${where}`
      break
    case "escape":
      message = `invalid escape ${JSON.stringify(text.slice(offset, offset + 2))} ${where}`
      break
    case "unicode":
      message = `invalid \\uXXXX escape ${where}`
      break
    case "unterminated":
      message = `unterminated string starting ${where}`
      break
    case "bom":
      message = `unexpected byte order mark U+FEFF ${where} (decode the text without it)`
      break
  }
  return new JsonParseError({ message, line, column, offset })
}

const describe = (text: string, offset: number): string => {
  const c = text.codePointAt(offset)!
  if (c > 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`
  return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`
}
