/**
 * CSV (RFC 4180): a header row naming the fields, then one record per row. Fields may be quoted (`"a, b"`, `""`
 * for a quote, line breaks inside quotes); rows end with `\n` or `\r\n`; blank rows are skipped. Values are typed
 * by the object's schema, so that `42` in an integer column is sent as the number 42: see `typedValue`.
 */
import type { ObjectSchema } from "@batchwrite/core"
import { InputFormatError, type ParsedRecord, type RecordParser } from "./RecordParser.js"
import type { RecordLines } from "./RecordLines.js"
import { UnreadableRecord } from "./UnreadableRecord.js"

/** One row of values and the line it starts on. */
interface Row {
  readonly values: ReadonlyArray<string>
  readonly line: number
  readonly text: string
}

/** Cuts CSV text into rows, chunk after chunk. */
class RowSplitter {
  private values: Array<string> = []
  private value = ""
  private quoted = false
  /** The value had a closing quote: a `"` now is an escaped quote, and the row is not blank. */
  private afterQuote = false
  /** A `\r` outside quotes, not yet known to start a `\r\n` (it may end the chunk). */
  private pendingCR = false
  private rowText = ""
  private line = 1
  private rowLine = 1

  push(text: string, onRow: (row: Row) => void): void {
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!
      if (this.pendingCR) {
        this.pendingCR = false
        if (char !== "\n") this.add("\r")
      }
      if (this.quoted) {
        if (char === '"') {
          this.quoted = false
          this.afterQuote = true
        } else {
          if (char === "\n") this.line++
          this.value += char
        }
        this.rowText += char
        continue
      }
      if (char === "\n") {
        this.endRow(onRow)
        this.line++
        this.rowLine = this.line
        continue
      }
      if (char === "\r") {
        this.pendingCR = true
        continue
      }
      this.rowText += char
      if (char === '"') {
        if (this.afterQuote) this.value += '"' // "" inside a quoted value
        this.quoted = true
        this.afterQuote = false
      } else if (char === ",") {
        this.values.push(this.value)
        this.value = ""
        this.afterQuote = false
      } else {
        this.add(char)
      }
    }
  }

  end(onRow: (row: Row) => void): void {
    if (this.quoted) throw new InputFormatError(`a quoted value opened on line ${this.rowLine} never closes`)
    this.pendingCR = false
    this.endRow(onRow)
  }

  private add(char: string): void {
    this.value += char
    this.rowText += char
    this.afterQuote = false
  }

  private endRow(onRow: (row: Row) => void): void {
    this.values.push(this.value)
    const values = this.values
    const blank = values.length === 1 && values[0] === "" && !this.afterQuote
    if (!blank) onRow({ values, line: this.rowLine, text: this.rowText })
    this.values = []
    this.value = ""
    this.afterQuote = false
    this.rowText = ""
  }
}

/** The value a CSV cell stands for in a field of this type; `undefined` leaves the field out. */
export const typedValue = (type: ObjectSchema.FieldType, text: string): unknown => {
  if (text === "") return undefined
  switch (type) {
    case "integer":
    case "number": {
      const value = Number(text.trim())
      return text.trim().length > 0 && Number.isFinite(value) ? value : text
    }
    case "boolean": {
      const lower = text.trim().toLowerCase()
      return lower === "true" || lower === "1" ? true : lower === "false" || lower === "0" ? false : text
    }
    case "json":
      try {
        return JSON.parse(text)
      } catch {
        return text
      }
    default:
      return text
  }
}

/**
 * CSV typed by `fields`: every header must name a field (an unknown column is an `InputFormatError`, before anything
 * is sent), an empty cell leaves its field out, and a cell that is not of its field's type is sent as written, for
 * the service to reject that row with the reason.
 */
export const csv = (
  fields: ObjectSchema.ObjectDefinition["fields"],
  objectName: string,
  recordLines?: RecordLines
): RecordParser => {
  const rows = new RowSplitter()
  let header: ReadonlyArray<{ readonly name: string; readonly type: ObjectSchema.FieldType }> | undefined

  const readHeader = (row: Row) => {
    const unknown = row.values.filter((name) => fields[name] === undefined)
    if (unknown.length > 0) {
      throw new InputFormatError(
        `column${unknown.length > 1 ? "s" : ""} ${unknown.map((name) => `'${name}'`).join(", ")} of the header ` +
          `${unknown.length > 1 ? "are not fields" : "is not a field"} of '${objectName}' (its fields: ${Object.keys(fields).join(", ")})`
      )
    }
    const repeated = row.values.find((name, i) => row.values.indexOf(name) !== i)
    if (repeated !== undefined) throw new InputFormatError(`column '${repeated}' appears twice in the header`)
    header = row.values.map((name) => ({ name, type: fields[name]!.type }))
  }

  const recordOf = (row: Row, columns: NonNullable<typeof header>): ParsedRecord => {
    if (row.values.length !== columns.length) {
      return new UnreadableRecord(
        row.text,
        `line ${row.line} has ${row.values.length} value${row.values.length === 1 ? "" : "s"}, the header has ${columns.length}`
      )
    }
    const record: Record<string, unknown> = {}
    for (let i = 0; i < columns.length; i++) {
      const value = typedValue(columns[i]!.type, row.values[i]!)
      if (value !== undefined) record[columns[i]!.name] = value
    }
    return record
  }

  const collect = (out: Array<ParsedRecord>) => (row: Row) => {
    if (header === undefined) return readHeader(row)
    recordLines?.record(row.line)
    out.push(recordOf(row, header))
  }

  return {
    push(text) {
      const out: Array<ParsedRecord> = []
      rows.push(text, collect(out))
      return out
    },
    end() {
      const out: Array<ParsedRecord> = []
      rows.end(collect(out))
      if (header === undefined) throw new InputFormatError("the CSV has no header row naming the fields")
      return out
    }
  }
}
