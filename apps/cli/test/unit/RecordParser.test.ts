/**
 * The input parsers of `append`/`upsert`: whatever the chunks the file arrives in, they give the records of the
 * whole text, in order; a record that cannot be read takes its place as an `UnreadableRecord`; a file not of its
 * format at all is an `InputFormatError`.
 */
import type { ObjectSchema } from "@batchwrite/core"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { csv, typedValue } from "../../src/input/Csv.js"
import {
  InputFormatError,
  jsonArray,
  jsonOrNdjson,
  ndjson,
  type ParsedRecord,
  type RecordParser
} from "../../src/input/RecordParser.js"
import { UnreadableRecord } from "../../src/input/UnreadableRecord.js"

/** Cuts text at the given fractions of its length. */
const chunksOf = (text: string, cuts: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * text.length)))].sort((a, b) => a - b)
  const chunks: Array<string> = []
  let start = 0
  for (const point of points) {
    chunks.push(text.slice(start, point))
    start = point
  }
  chunks.push(text.slice(start))
  return chunks
}

const parseAll = (parser: RecordParser, chunks: ReadonlyArray<string>): Array<ParsedRecord> => [
  ...chunks.flatMap((chunk) => parser.push(chunk)),
  ...parser.end()
]

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 })
const records = fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 30 })

describe("JSON parsers", () => {
  it("a JSON array gives its elements, however it is chunked and indented", () =>
    fc.assert(
      fc.property(records, cuts, fc.boolean(), (values, at, pretty) => {
        const text = JSON.stringify(values, null, pretty ? 2 : undefined)
        assert.deepStrictEqual(parseAll(jsonArray(), chunksOf(text, at)), JSON.parse(text))
        assert.deepStrictEqual(parseAll(jsonOrNdjson(), chunksOf(`\n ${text}\n`, at)), JSON.parse(text))
      })
    ))

  it("NDJSON gives one record per line, blank lines and \\r\\n included, however it is chunked", () =>
    fc.assert(
      fc.property(records, cuts, fc.boolean(), (values, at, crlf) => {
        const text = values.map((value) => `${JSON.stringify(value)}${crlf ? "\r\n" : "\n"}\n`).join("")
        const expected = values.map((value) => JSON.parse(JSON.stringify(value)))
        assert.deepStrictEqual(parseAll(ndjson(), chunksOf(text, at)), expected)
        assert.deepStrictEqual(parseAll(jsonOrNdjson(), chunksOf(text, at)), expected)
      })
    ))

  it("a line that is not JSON is an UnreadableRecord in its place, saying which line", () => {
    const [first, bad, last] = parseAll(ndjson(), ['{"a":1}\n{"a":\n', '{"a":3}'])
    assert.deepStrictEqual([first, last], [{ a: 1 }, { a: 3 }])
    assert.instanceOf(bad, UnreadableRecord)
    assert.strictEqual((bad as UnreadableRecord).text, '{"a":')
    assert.match((bad as UnreadableRecord).reason, /^line 2 is not valid JSON/)
    const [element] = parseAll(jsonArray(), ["[{1}]"])
    assert.match((element as UnreadableRecord).reason, /^element 0 of the array is not valid JSON/)
  })

  it("input that is not an array at all, or never closes, is an InputFormatError", () => {
    for (const text of ['{"a": 1}', "[1, 2", "[1] 2", "[1,,2]", "x"]) {
      assert.throws(() => parseAll(jsonArray(), [text]), InputFormatError, undefined, text)
    }
    assert.deepStrictEqual(parseAll(jsonArray(), ["  [ ]  "]), [])
    assert.deepStrictEqual(parseAll(jsonOrNdjson(), ["   "]), [])
  })
})

const stringFields = (names: ReadonlyArray<string>): ObjectSchema.ObjectDefinition["fields"] =>
  Object.fromEntries(names.map((name) => [name, { type: "string" as const }]))

/** A CSV cell: quoted when it must be, sometimes when it need not be. */
const cell = (value: string, quoteAnyway: boolean): string =>
  quoteAnyway || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value

describe("CSV", () => {
  const names = ["a", "b", "c"]
  const value = fc.string({ unit: fc.constantFrom("x", "y", ",", '"', "\n", "\r", " ", "é", "😀"), maxLength: 6 })
  const rows = fc.array(fc.tuple(value, value, value), { maxLength: 25 })

  it("gives each row as a record of its header's fields, however the text is chunked (empty cells left out)", () =>
    fc.assert(
      fc.property(rows, cuts, fc.boolean(), fc.boolean(), (table, at, crlf, quoteAnyway) => {
        const newline = crlf ? "\r\n" : "\n"
        // A row of one empty cell is a blank line, which is skipped: quote it so the row is kept.
        const lines = table.map((row) =>
          row.map((text) => cell(text, quoteAnyway || row.every((v) => v === ""))).join(",")
        )
        const text = `${names.join(",")}${newline}${lines.join(newline)}${table.length > 0 ? newline : ""}`
        const expected = table.map((row) =>
          Object.fromEntries(row.flatMap((text, i) => (text === "" ? [] : [[names[i]!, text]])))
        )
        assert.deepStrictEqual(parseAll(csv(stringFields(names), "t"), chunksOf(text, at)), expected)
      })
    ))

  it("types values by the schema; what is not of its type is sent as written, for the service to reject", () => {
    assert.deepStrictEqual(
      [
        typedValue("integer", "42"),
        typedValue("number", " 1e3 "),
        typedValue("number", "abc"),
        typedValue("boolean", "TRUE"),
        typedValue("boolean", "0"),
        typedValue("boolean", "yes"),
        typedValue("json", '{"a":[1]}'),
        typedValue("json", "{nope"),
        typedValue("datetime", "2026-01-01T00:00:00Z"),
        typedValue("string", "")
      ],
      [42, 1000, "abc", true, false, "yes", { a: [1] }, "{nope", "2026-01-01T00:00:00Z", undefined]
    )
  })

  it("a row with the wrong number of values is an UnreadableRecord naming its line", () => {
    const [row] = parseAll(csv(stringFields(["a", "b"]), "t"), ["a,b\n", "1,2,3\n"])
    assert.instanceOf(row, UnreadableRecord)
    assert.strictEqual((row as UnreadableRecord).reason, "line 2 has 3 values, the header has 2")
  })

  it("a header naming something that is not a field, twice the same column, or no header, is an InputFormatError", () => {
    assert.throws(() => parseAll(csv(stringFields(["a"]), "t"), ["a,zz\n"]), /column 'zz' .* not a field of 't'/)
    assert.throws(() => parseAll(csv(stringFields(["a"]), "t"), ["a,a\n"]), /column 'a' appears twice/)
    assert.throws(() => parseAll(csv(stringFields(["a"]), "t"), [""]), /no header row/)
    assert.throws(() => parseAll(csv(stringFields(["a"]), "t"), ['a\n"open']), /never closes/)
  })
})
