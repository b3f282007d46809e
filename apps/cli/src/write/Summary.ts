/**
 * The summary `append`/`upsert` end with (SPEC §4): records sent, inserted, updated, invalid, dead-lettered, time
 * and records/s, for a person or, with `--json`, as one JSON document.
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

/** The rows the service or the command rejected: invalid rows and dead-lettered records. */
export const rejectedCount = (totals: Totals): number => totals.invalid + totals.deadLettered

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
        `invalid ${formatCount(totals.invalid)} · dead-lettered ${formatCount(totals.deadLettered)} · ${plural(totals.batches, "job")}`
      : `  not waiting for ${plural(report.jobIds.length, "job")} (--no-wait); dead-lettered ${formatCount(totals.deadLettered)}. ` +
        `See one with: batchwrite jobs get ${report.objectName} <job id> --wait`
  ]
  const rejected = rejectedCount(totals)
  if (rejected > 0 && report.deadLetterFile !== undefined) {
    lines.push(
      `  ${plural(rejected, "rejected row")} written to ${report.deadLetterFile}: fix them there, then ` +
        `batchwrite dead-letter replay ${report.deadLetterFile}`
    )
  } else if (rejected > 0) {
    for (const row of report.sample)
      lines.push(`  record ${formatCount(row.inputIndex + 1)}: ${row.message} (${row.code})`)
    if (rejected > report.sample.length) lines.push(`  … and ${formatCount(rejected - report.sample.length)} more`)
    lines.push("  keep every rejected row with --dead-letter <file>")
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
    deadLettered: report.totals.deadLettered
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
