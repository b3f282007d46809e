/**
 * Reading the records of `append`/`upsert` from a file or standard input as a `Stream`, chunk by chunk, so that a
 * file of any size is read in bounded memory. The format is NDJSON, a JSON array or CSV: from `--format`, else
 * from the extension (`.csv`), else from the first character (`[` is an array).
 */
import { createReadStream, statSync } from "node:fs"
import type { ObjectSchema } from "@batchwrite/core"
import { Effect, Either, Stream } from "effect"
import { UsageError } from "../CliError.js"
import { describeSource, type InputSource } from "../Input.js"
import { csv } from "./Csv.js"
import type { RecordLines } from "./RecordLines.js"
import {
  InputFormatError,
  jsonArray,
  jsonOrNdjson,
  ndjson,
  type ParsedRecord,
  type RecordParser
} from "./RecordParser.js"

/** The formats `--format` names. */
export const formats = ["auto", "ndjson", "json", "csv"] as const

/** A `--format` value. */
export type Format = (typeof formats)[number]

/** How far the reading is: bytes read of the whole (unknown for standard input). */
export interface ReadProgress {
  bytesRead: number
  readonly totalBytes: number | undefined
}

/** A file to read, as it was when the command started. */
export interface FileInfo {
  readonly size: number
  readonly mtimeMs: number
}

/** The size and modification time of the input file; a missing or unreadable one is a `UsageError`. */
export const fileInfo = (path: string): Either.Either<FileInfo, UsageError> => {
  try {
    const stats = statSync(path)
    if (stats.isDirectory()) return Either.left(new UsageError({ message: `${path} is a directory, not a file` }))
    return Either.right({ size: stats.size, mtimeMs: stats.mtimeMs })
  } catch (error) {
    const code = (error as { code?: string }).code
    return Either.left(
      new UsageError({ message: code === "ENOENT" ? `file not found: ${path}` : `cannot read ${path} (${code})` })
    )
  }
}

/** Whether the format is CSV (which needs the object's schema to type its values). */
export const isCsv = (source: InputSource, format: Format): boolean =>
  format === "csv" || (format === "auto" && source._tag === "File" && /\.csv$/i.test(source.path))

/** The parser for the format; CSV needs the object's fields. NDJSON and CSV tell `recordLines` each record's line. */
export const parserFor = (
  source: InputSource,
  format: Format,
  object: ObjectSchema.ObjectDefinition,
  recordLines?: RecordLines
): RecordParser =>
  isCsv(source, format)
    ? csv(object.fields, object.name, recordLines)
    : format === "ndjson"
      ? ndjson(recordLines)
      : format === "json"
        ? jsonArray()
        : jsonOrNdjson(recordLines)

const chunkSize = 64 * 1024

/** The raw bytes of the source, chunk by chunk, counted into `progress`. */
const bytesOf = (source: InputSource): AsyncIterable<Buffer> =>
  source._tag === "File" ? createReadStream(source.path, { highWaterMark: chunkSize }) : process.stdin

/**
 * The records of the source, in order. Invalid UTF-8 or input that is not of its format at all fails the stream
 * with a `UsageError` saying where; a single record that cannot be read is an `UnreadableRecord` in its place.
 */
export const readRecords = (
  source: InputSource,
  parser: RecordParser,
  progress: ReadProgress
): Stream.Stream<ParsedRecord, UsageError> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder("utf-8", { fatal: true })
    const name = describeSource(source)
    const failed = (error: unknown): UsageError =>
      new UsageError({
        message:
          error instanceof InputFormatError
            ? `${name}: ${error.message}`
            : error instanceof TypeError && /encoded data/i.test(error.message)
              ? `${name} is not valid UTF-8 text (in the ${progress.bytesRead}-byte part read so far)`
              : `cannot read ${name}: ${error instanceof Error ? error.message : String(error)}`
      })
    const parse = (step: () => Array<ParsedRecord>) => Effect.try({ try: step, catch: failed })
    const chunks = Stream.fromAsyncIterable(bytesOf(source), failed).pipe(
      Stream.mapEffect((bytes) =>
        parse(() => {
          progress.bytesRead += bytes.length
          return parser.push(decoder.decode(bytes, { stream: true }))
        })
      )
    )
    const last = Stream.fromEffect(parse(() => [...parser.push(decoder.decode()), ...parser.end()]))
    return Stream.concat(chunks, last).pipe(Stream.mapConcat((records) => records))
  })
