/**
 * Parsers that turn the text of an input, chunk after chunk, into records: NDJSON (one JSON value per line), a
 * JSON array (read element by element, never whole), and the choice between the two from the first character.
 * A record that cannot be read becomes an `UnreadableRecord` in its place; a file that is not of the format at all
 * (`{` where an array must start, an array that never closes) throws an `InputFormatError`.
 */
import type { RecordLines } from "./RecordLines.js"
import { UnreadableRecord } from "./UnreadableRecord.js"

/** The input is not of its format at all; nothing after this point can be read. */
export class InputFormatError extends Error {}

/** What a parser yields: a record (any JSON value: the service says which are not records) or an unreadable one. */
export type ParsedRecord = unknown

/** A parser fed text chunk by chunk. */
export interface RecordParser {
  /** The records the chunk completes. */
  push(text: string): Array<ParsedRecord>
  /** The records left when the input ends. */
  end(): Array<ParsedRecord>
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Parses one JSON text, or says why it is not JSON. */
const parseJson = (text: string, where: string): ParsedRecord => {
  try {
    return JSON.parse(text)
  } catch (error) {
    return new UnreadableRecord(text, `${where} is not valid JSON: ${describeError(error)}`)
  }
}

/** Cuts text into lines (`\n` or `\r\n`), keeping the unfinished last line for the next chunk. */
export class LineSplitter {
  private rest = ""
  /** The number of the next line, from 1. */
  lineNumber = 1

  /** The complete lines of the chunk, each with its line number. */
  push(text: string, onLine: (line: string, lineNumber: number) => void): void {
    const data = this.rest + text
    let start = 0
    for (let newline = data.indexOf("\n"); newline >= 0; newline = data.indexOf("\n", start)) {
      const end = newline > start && data.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
      onLine(data.slice(start, end), this.lineNumber++)
      start = newline + 1
    }
    this.rest = data.slice(start)
  }

  /** The last line, if the input does not end with a newline. */
  end(onLine: (line: string, lineNumber: number) => void): void {
    if (this.rest.length > 0) onLine(this.rest.endsWith("\r") ? this.rest.slice(0, -1) : this.rest, this.lineNumber++)
    this.rest = ""
  }
}

/** NDJSON: one JSON value per line; blank lines are skipped. Each record's line goes to `recordLines`. */
export const ndjson = (recordLines?: RecordLines): RecordParser => {
  const lines = new LineSplitter()
  const collect = (out: Array<ParsedRecord>) => (line: string, lineNumber: number) => {
    if (line.trim().length === 0) return
    recordLines?.record(lineNumber)
    out.push(parseJson(line, `line ${lineNumber}`))
  }
  return {
    push(text) {
      const out: Array<ParsedRecord> = []
      lines.push(text, collect(out))
      return out
    },
    end() {
      const out: Array<ParsedRecord> = []
      lines.end(collect(out))
      return out
    }
  }
}

const isWhitespace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9

/**
 * A JSON array of records, element by element: the text of each element is found by tracking strings and
 * nesting, then parsed alone, so memory holds one element at a time, not the file.
 */
export const jsonArray = (): RecordParser => {
  let state: "before" | "inside" | "after" = "before"
  let element = "" // the text of the element read so far (across chunks)
  let depth = 0
  let inString = false
  let escaped = false
  let index = 0

  const finishElement = (out: Array<ParsedRecord>, closing: boolean) => {
    const text = element.trim()
    element = ""
    if (text.length === 0) {
      if (closing && index === 0) return // []
      throw new InputFormatError(`element ${index} of the array is empty (a stray comma?)`)
    }
    out.push(parseJson(text, `element ${index} of the array`))
    index++
  }

  return {
    push(text) {
      const out: Array<ParsedRecord> = []
      let start = 0
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i)
        if (state === "before") {
          if (isWhitespace(code)) continue
          if (code !== 91) throw new InputFormatError(`expected a JSON array ('[') or NDJSON, found '${text[i]}'`)
          state = "inside"
          start = i + 1
        } else if (state === "after") {
          if (!isWhitespace(code)) throw new InputFormatError(`unexpected '${text[i]}' after the end of the array`)
        } else if (inString) {
          if (escaped) escaped = false
          else if (code === 92) escaped = true
          else if (code === 34) inString = false
        } else if (code === 34) {
          inString = true
        } else if (code === 91 || code === 123) {
          depth++
        } else if (code === 93 || code === 125) {
          if (depth > 0) {
            depth--
          } else if (code === 93) {
            element += text.slice(start, i)
            finishElement(out, true)
            state = "after"
          }
        } else if (code === 44 && depth === 0) {
          element += text.slice(start, i)
          finishElement(out, false)
          start = i + 1
        }
      }
      if (state === "inside") element += text.slice(start)
      return out
    },
    end() {
      if (state === "before") return []
      if (state === "inside") throw new InputFormatError(`the array ends without its closing ']' (element ${index})`)
      return []
    }
  }
}

/**
 * JSON of either kind, told apart by the first character that is not whitespace: `[` starts an array, anything
 * else is NDJSON (whose records' lines go to `recordLines`).
 */
export const jsonOrNdjson = (recordLines?: RecordLines): RecordParser => {
  let chosen: RecordParser | undefined
  let pending = ""
  return {
    push(text) {
      if (chosen === undefined) {
        pending += text
        const first = pending.trimStart()
        if (first.length === 0) return []
        chosen = first.startsWith("[") ? jsonArray() : ndjson(recordLines)
        text = pending
        pending = ""
      }
      return chosen.push(text)
    },
    end() {
      return chosen === undefined ? [] : chosen.end()
    }
  }
}
