/**
 * Where the rejected rows of `append`/`upsert` go: the rows a job reported invalid and the records that were never
 * stored (refused with their batch, too large, unreadable in the file). With `--dead-letter <file>` every one is
 * appended to that NDJSON file as a dead-letter entry (SPEC §3), ready to fix and replay; without it the first ten
 * of the input (whatever order the runs settle in) are kept for the summary.
 */
import { appendFileSync } from "node:fs"
import type { DeadLetterEntry, RunSettled } from "@batchwrite/client"
import { UnreadableRecord } from "../input/UnreadableRecord.js"

/** A rejected row as the summary shows it. */
export interface RejectedRow {
  /** The record's index in the input. */
  readonly inputIndex: number
  readonly code: string
  /** Why, starting with where the record is in the input when that is known (`line 7: …`). */
  readonly message: string
}

/** Where a record of the input is, by its index, for a person: `line 7` of the file. */
export type PlaceOf = (inputIndex: number) => string | undefined

/** How many rejected rows the summary shows when they go to no file. */
const sampleSize = 10

/**
 * The entry of a rejected row, its message starting with the record's place in the input when known: an unreadable
 * record is kept as its text, with why it could not be read (which says where already).
 */
const entryOf = (
  row: {
    readonly record: unknown
    readonly code: string
    readonly message: string
    readonly jobId?: string | undefined
  },
  place: string | undefined,
  objectName: string,
  matchKey: string | undefined
): DeadLetterEntry => ({
  record: row.record instanceof UnreadableRecord ? row.record.text : row.record,
  objectName,
  code: row.code,
  message:
    row.record instanceof UnreadableRecord
      ? row.record.reason
      : place === undefined
        ? row.message
        : `${place}: ${row.message}`,
  ...(row.jobId === undefined ? {} : { jobId: row.jobId }),
  ...(matchKey === undefined ? {} : { matchKey })
})

/** The rejected rows of a settled run, in input order, with their input index. */
const rejectedOf = (outcome: RunSettled<unknown>["outcome"]) =>
  [
    ...outcome.deadLetters,
    ...outcome.invalidRows.map((row) => ({
      ...row,
      message: row.field === null ? row.message : `${row.field}: ${row.message}`
    }))
  ].sort((a, b) => a.inputIndex - b.inputIndex)

/** Collects the rejected rows of a write. */
export class Rejects {
  private kept: ReadonlyArray<RejectedRow> = []

  constructor(
    private readonly objectName: string,
    private readonly matchKey: string | undefined,
    /** The dead-letter file, appended to. */
    readonly file: string | undefined,
    /** Where a record is in the input, named in each message (`line 7: …`); nothing for a replay. */
    private readonly placeOf: PlaceOf = () => undefined
  ) {}

  /** Keeps the rejected rows of a settled run: appended to the file (synchronously, before the checkpoint moves). */
  add(settled: RunSettled<unknown>, indexOffset: number): void {
    const rows = rejectedOf(settled.outcome)
    if (rows.length === 0) return
    const entry = (row: (typeof rows)[number]) =>
      entryOf(row, this.placeOf(row.inputIndex + indexOffset), this.objectName, this.matchKey)
    if (this.file !== undefined) {
      appendFileSync(this.file, rows.map((row) => `${JSON.stringify(entry(row))}\n`).join(""))
      return
    }
    const candidates = rows.slice(0, sampleSize).map((row): RejectedRow => {
      const { code, message } = entry(row)
      return { inputIndex: row.inputIndex + indexOffset, code, message }
    })
    this.kept = [...this.kept, ...candidates].sort((a, b) => a.inputIndex - b.inputIndex).slice(0, sampleSize)
  }

  /** Without a file: the rejected rows that come first in the input, at most ten, in input order. */
  get sample(): ReadonlyArray<RejectedRow> {
    return this.kept
  }
}
