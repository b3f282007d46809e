/**
 * The summary `append`/`upsert` end with (SPEC §4): records sent, inserted, updated, invalid, not sent (refused with
 * their batch, too large, unreadable), dead-lettered (rows written to the dead-letter file: every rejected row when
 * there is one), time and records/s, for a person or, with `--json`, as one JSON document.
 */
import { Console, Effect } from "effect"
import { WorkError } from "../CliError.js"
import type { Totals } from "./Totals.js"
import type { RejectedRow } from "./Rejects.js"

/** Everything the summary tells. */
export interface WriteReport {
  readonly objectName: string
  readonly mode: "append" | "upsert"
  readonly matchKey: string | undefined
  /** Counts over the whole file, resumed runs included. */
  readonly totals: Totals
  /** Records this run sent (in batches the service accepted). */
  readonly sentThisRun: number
  readonly seconds: number
  /** The input index this run started at (0 unless resumed). */
  readonly resumedAt: number
  /** Rows rejected by the earlier, interrupted runs of a resumed write (counted in `totals`, not in `sample`). */
  readonly rejectedBefore: number
  /** Whether the jobs were awaited (not `--no-wait`). */
  readonly waited: boolean
  /** The jobs of this run's batches. */
  readonly jobIds: ReadonlyArray<string>
  /** Where rejected rows went, if anywhere. */
  readonly deadLetterFile: string | undefined
  /** Some of the rejected rows (shown in input order), when they went nowhere else. */
  readonly sample: ReadonlyArray<RejectedRow>
}

/** `1234567` as `1,234,567`. */
export const formatCount = (n: number): string => n.toLocaleString("en-US")

const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`

/**
 * The rows the service or the command rejected: invalid rows, and the records never stored (`totals.deadLettered`:
 * refused with their batch, too large, unreadable), shown as "not sent".
 */
export const rejectedCount = (totals: Totals): number => totals.invalid + totals.deadLettered

/** The rows written to the dead-letter file: every rejected row when there is one, else none. */
const deadLetteredCount = (report: WriteReport): number =>
  report.deadLetterFile === undefined ? 0 : rejectedCount(report.totals)

/** The rejected rows of a write that has no dead-letter file: the first ones, and how many more there are. */
const rejectedRowsLines = (report: WriteReport, rejected: number): Array<string> => {
  const lines = report.sample.map((row) => `  ${row.message} (${row.code})`)
  const unlisted = rejected - report.rejectedBefore - report.sample.length
  if (unlisted > 0) lines.push(`  … and ${formatCount(unlisted)} more`)
  if (report.rejectedBefore > 0) {
    lines.push(`  ${plural(report.rejectedBefore, "row")} rejected before the interruption, not listed here`)
  }
  lines.push("  keep every rejected row with --dead-letter <file>")
  return lines
}

/** The summary for a person. */
export const humanSummary = (report: WriteReport): string => {
  const { totals } = report
  const rate = report.seconds > 0 ? Math.round(report.sentThisRun / report.seconds) : 0
  const verb = report.mode === "append" ? "appended to" : `upserted by ${report.matchKey} into`
  const lines = [
    `${verb} '${report.objectName}': ${plural(totals.accepted, "record")} sent in ${report.seconds.toFixed(1)} s ` +
      `(${formatCount(rate)} records/s${report.resumedAt > 0 ? `, resumed at record ${formatCount(report.resumedAt + 1)}` : ""})`,
    report.waited
      ? `  inserted ${formatCount(totals.inserted)} · updated ${formatCount(totals.updated)} · stale ${formatCount(totals.stale)} · ` +
        `invalid ${formatCount(totals.invalid)} · not sent ${formatCount(totals.deadLettered)} · ` +
        `dead-lettered ${formatCount(deadLetteredCount(report))} · ${plural(totals.batches, "job")}`
      : `  not waiting for ${plural(report.jobIds.length, "job")} (--no-wait); not sent ${formatCount(totals.deadLettered)} · ` +
        `dead-lettered ${formatCount(deadLetteredCount(report))}. ` +
        `See one with: batchwrite jobs get ${report.objectName} <job id> --wait`
  ]
  const rejected = rejectedCount(totals)
  if (rejected > 0 && report.deadLetterFile !== undefined) {
    lines.push(
      `  ${plural(rejected, "rejected row")} written to ${report.deadLetterFile}: fix them there, then ` +
        `batchwrite dead-letter replay ${report.deadLetterFile}`
    )
  } else if (rejected > 0) {
    lines.push(...rejectedRowsLines(report, rejected))
  }
  return lines.join("\n")
}

/** The summary as JSON. */
export const jsonSummary = (report: WriteReport) => ({
  objectName: report.objectName,
  operation: report.mode === "append" ? "append-batch" : "upsert-batch",
  ...(report.matchKey === undefined ? {} : { matchKey: report.matchKey }),
  records: {
    sent: report.totals.accepted,
    inserted: report.totals.inserted,
    updated: report.totals.updated,
    stale: report.totals.stale,
    invalid: report.totals.invalid,
    notSent: report.totals.deadLettered,
    deadLettered: deadLetteredCount(report)
  },
  jobs: report.totals.batches,
  waited: report.waited,
  seconds: Number(report.seconds.toFixed(3)),
  recordsPerSecond: report.seconds > 0 ? Math.round(report.sentThisRun / report.seconds) : 0,
  resumedAt: report.resumedAt,
  jobIds: report.jobIds,
  deadLetterFile: report.deadLetterFile ?? null,
  rejectedSample: report.sample
})

/** Prints the summary on stdout (JSON with `--json`); with `--strict`, rejected rows then fail the command (exit 1). */
export const report = (summary: WriteReport, options: { readonly json: boolean; readonly strict: boolean }) =>
  Effect.gen(function* () {
    yield* Console.log(options.json ? JSON.stringify(jsonSummary(summary)) : humanSummary(summary))
    const rejected = rejectedCount(summary.totals)
    if (options.strict && rejected > 0) {
      return yield* new WorkError({
        message: `${rejected} row${rejected === 1 ? " was" : "s were"} rejected (--strict)`
      })
    }
  })
