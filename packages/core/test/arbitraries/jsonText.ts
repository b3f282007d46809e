/**
 * fast-check generators of JSON *text* that Python's `json.loads` accepts, written the many ways a file can write
 * the same data: every number form (ints, integers beyond 2^53, `-0`, `2.0`, `1E5`, exponents of every size,
 * overflow, `NaN`, `Infinity`), strings with characters of every plane written raw or escaped (short escapes,
 * `\uXXXX` in either case, surrogate pairs, lone surrogate escapes), keys whose code point order differs from
 * their UTF-16 order, duplicate keys, and insignificant whitespace around every token. Raw text is always
 * well-formed Unicode, so it survives being written to a UTF-8 file.
 */
import * as fc from "fast-check"

/** Insignificant whitespace: mostly none. */
export const whitespace: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: fc.constant(" ") },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(" ", "\t", "\n", "\r"), minLength: 1, maxLength: 4 }) }
)

/** Code points of every range that matters to escaping and ordering (no surrogates: see `stringFragment`). */
export const codePoint: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x00, max: 0x1f }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x7f, max: 0x9f }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xa0, max: 0x7ff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x4e00, max: 0x9fff }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x800, max: 0xd7ff }) },
  { weight: 3, arbitrary: fc.integer({ min: 0xe000, max: 0xffff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x1f300, max: 0x1faff }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }) }
)

const shortEscapes: Readonly<Record<number, string>> = {
  34: '\\"',
  92: "\\\\",
  47: "\\/",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t"
}

const hex4 = (unit: number, upper: boolean): string => {
  const hex = unit.toString(16).padStart(4, "0")
  return `\\u${upper ? hex.toUpperCase() : hex}`
}

/** How a code point is written in a string literal; `style` picks among the forms JSON allows for it. */
const writeCodePoint = (cp: number, style: number): string => {
  const short = shortEscapes[cp]
  const mustEscape = cp < 0x20 || cp === 0x22 || cp === 0x5c
  const form = style % 4
  if (short !== undefined && (mustEscape || form === 1) && form !== 2) return short
  if (mustEscape || form === 2 || form === 3) {
    const upper = style >= 4
    if (cp < 0x10000) return hex4(cp, upper)
    const v = cp - 0x10000
    return hex4(0xd800 + (v >> 10), upper) + hex4(0xdc00 + (v & 0x3ff), upper)
  }
  return String.fromCodePoint(cp)
}

/** One piece of a string literal's content: a code point written some way, or a lone surrogate escape. */
export const stringFragment: fc.Arbitrary<string> = fc.oneof(
  { weight: 30, arbitrary: fc.tuple(codePoint, fc.nat(7)).map(([cp, style]) => writeCodePoint(cp, style)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0xd800, max: 0xdfff }), fc.boolean())
      .map(([unit, upper]) => hex4(unit, upper))
  }
)

/** A JSON string literal, quotes included. */
export const stringLiteral: fc.Arbitrary<string> = fc
  .array(stringFragment, { maxLength: 12 })
  .map((fragments) => `"${fragments.join("")}"`)

/** Keys that order differently by code point and by UTF-16 unit, prototype names, and near-duplicates. */
const trickyKeys: ReadonlyArray<ReadonlyArray<number>> = [
  [],
  [0x61],
  [0x62],
  [0x41],
  [0x61, 0x61],
  [0xe9],
  [0xe000],
  [0xffff],
  [0xfffd],
  [0xd7ff],
  [0x1f600],
  [0x10000],
  [0x10ffff],
  [0x61, 0xffff],
  [0x61, 0x1f600],
  Array.from("__proto__", (c) => c.charCodeAt(0)),
  Array.from("constructor", (c) => c.charCodeAt(0))
]

/** An object key literal: mostly from a small pool (so objects get duplicate keys), sometimes any string. */
export const keyLiteral: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...trickyKeys), fc.nat(7))
      .map(([cps, style]) => `"${cps.map((cp) => writeCodePoint(cp, style)).join("")}"`)
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('"\\ud800"', '"\\udbff"', '"\\udc00"', '"\\uDFFF"', '"\\ud83d\\ude00"', '"\\ud83dx"')
  },
  { weight: 2, arbitrary: stringLiteral }
)

const digits = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), minLength: min, maxLength: max })

const integerPart: fc.Arbitrary<string> = fc.oneof(
  fc.constant("0"),
  fc.tuple(fc.constantFrom("1", "2", "3", "4", "5", "6", "7", "8", "9"), digits(0, 20)).map(([d, ds]) => d + ds)
)

const exponentValue: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -25, max: 25 }) },
  { weight: 1, arbitrary: fc.integer({ min: -340, max: 330 }) },
  { weight: 1, arbitrary: fc.integer({ min: -500, max: 500 }) }
)

/** A JSON number literal in any written form, or one of Python's `NaN`, `Infinity`, `-Infinity`. */
export const numberLiteral: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1000 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("-0", "-0.0", "0.0", "2.0", "2", "1E5", "1e5", "100000.0", "1e400", "-1e400")
  },
  { weight: 1, arbitrary: fc.constantFrom("1e-400", "5e-324", "1.7976931348623157e308", "1e16", "1e-05", "0.0001") },
  { weight: 1, arbitrary: fc.constantFrom("NaN", "Infinity", "-Infinity") },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
        fc.bigInt({ min: 2n ** 53n - 5n, max: 2n ** 53n + 5n }),
        fc.bigInt({ min: 2n ** 63n - 3n, max: 2n ** 64n + 3n }),
        fc.bigInt({ min: -(2n ** 53n) - 5n, max: -(2n ** 53n) + 5n })
      )
      .map(String)
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        sign: fc.constantFrom("", "", "-"),
        int: integerPart,
        fraction: fc.option(digits(1, 20), { nil: undefined }),
        e: fc.constantFrom("e", "E"),
        expSign: fc.constantFrom("", "+", "-"),
        exponent: fc.option(exponentValue, { nil: undefined })
      })
      .map(({ e, expSign, exponent, fraction, int, sign }) => {
        let text = sign + int + (fraction === undefined ? "" : `.${fraction}`)
        if (exponent !== undefined) text += e + (exponent < 0 ? "-" : expSign) + Math.abs(exponent)
        return text
      })
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double(), fc.nat(2))
      .map(([x, form]) => (form === 0 ? String(x) : form === 1 ? x.toExponential() : x.toPrecision(17)))
  }
)

const scalarLiteral: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: numberLiteral },
  { weight: 3, arbitrary: stringLiteral },
  { weight: 1, arbitrary: fc.constantFrom("true", "false", "null") }
)

const join = (open: string, items: ReadonlyArray<string>, inner: string, close: string): string =>
  items.length === 0 ? open + inner + close : open + items.join(",") + close

const tree = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ maxDepth: 4, depthIdentifier: "json" }, scalarLiteral, tie("array"), tie("object")),
  array: fc
    .tuple(
      whitespace,
      fc.array(fc.tuple(whitespace, tie("value"), whitespace), { maxLength: 5, depthIdentifier: "json" })
    )
    .map(([inner, items]) =>
      join(
        "[",
        items.map(([a, v, b]) => a + v + b),
        inner,
        "]"
      )
    ),
  object: fc
    .tuple(
      whitespace,
      fc.array(fc.tuple(whitespace, keyLiteral, whitespace, whitespace, tie("value"), whitespace), {
        maxLength: 6,
        depthIdentifier: "json"
      })
    )
    .map(([inner, entries]) =>
      join(
        "{",
        entries.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`),
        inner,
        "}"
      )
    )
}))

/** Any JSON value as text, with whitespace around it. */
export const jsonText: fc.Arbitrary<string> = fc.tuple(whitespace, tree.value, whitespace).map(([a, v, b]) => a + v + b)

/** A JSON object as text. */
export const objectText: fc.Arbitrary<string> = tree.object

/** A batch of records as text: a JSON array of objects, with whitespace around every token. */
export const batchText: fc.Arbitrary<string> = fc
  .tuple(
    whitespace,
    whitespace,
    fc.array(fc.tuple(whitespace, objectText, whitespace), { minLength: 1, maxLength: 8 }),
    whitespace
  )
  .map(
    ([a, inner, records, b]) =>
      a +
      join(
        "[",
        records.map(([c, r, d]) => c + r + d),
        inner,
        "]"
      ) +
      b
  )

/**
 * A message id: any well-formed Unicode (a lone surrogate cannot be UTF-8 encoded, so Python could not hash it),
 * often short and over a few characters whose code point order differs from their UTF-16 order, so ids share
 * prefixes and the sort order is put to the test.
 */
export const messageId: fc.Arbitrary<string> = fc.oneof(
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: codePoint.map((cp) => String.fromCodePoint(cp)) },
      { weight: 1, arbitrary: fc.constant(":") }
    ),
    maxLength: 12
  }),
  fc.string({ unit: fc.constantFrom("a", ":", "\ue000", "\uffff", "\u{1f600}", "\u{10000}"), maxLength: 4 })
)
