/**
 * Rounds of a row: the service, the synchronous baseline and the database ceiling measured one after the other,
 * `--rounds` times (fresh records each round), so that each ratio compares measurements taken moments apart. The
 * machine's load changes between rows by as much as the ratios do; the median of the rounds' ratios is the one
 * reported, beside each round's figures.
 */
import type { DatabaseCeiling } from "./DatabaseCeiling.js"
import type { Row } from "./Results.js"
import type { MeasuredRow } from "./ServiceRow.js"
import type { SyncBaselineRow } from "./SyncBaseline.js"

/** One round of a row. */
export interface Round {
  readonly row: MeasuredRow
  /** `undefined` when the round's jobs timed out (the baseline and ceiling were then not measured). */
  readonly sync: SyncBaselineRow | undefined
  readonly database: DatabaseCeiling | undefined
}

/** One round's figures, as reported beside the row. */
export interface RoundFigures {
  readonly committedRecordsPerSec: number
  readonly databaseCeilingRecordsPerSec: number | null
  readonly syncBaselineRecordsPerSec: number | null
}

/** The median of `values` (the mean of the middle two for an even count); `null` for none. */
export const median = (values: ReadonlyArray<number>): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const syncRateOf = (round: Round): number | undefined =>
  round.sync === undefined || round.sync.errors > 0 ? undefined : round.sync.recordsPerSec

const defined = <A>(values: ReadonlyArray<A | undefined>): ReadonlyArray<A> =>
  values.filter((value): value is A => value !== undefined)

/**
 * The row of its rounds: the measurements of the round whose committed records/s is the median (the lower middle
 * for an even count), errors summed over every round, and each ratio the median of the rounds' own ratios.
 */
export const combineRounds = (
  rounds: ReadonlyArray<Round>,
  storageCeiling: number | undefined
): Row & { readonly rounds: ReadonlyArray<RoundFigures> } => {
  const byCommitted = [...rounds].sort((a, b) => a.row.committedRecordsPerSec - b.row.committedRecordsPerSec)
  const middle = byCommitted[Math.floor((byCommitted.length - 1) / 2)]!.row
  const ratio = (of: (round: Round) => number | undefined) =>
    median(
      defined(
        rounds.map((round) => {
          const base = of(round)
          return base === undefined ? undefined : round.row.committedRecordsPerSec / base
        })
      )
    )
  const errorDetails = rounds.flatMap((round) => round.row.errorDetails)
  return {
    ...middle,
    errors: rounds.reduce((sum, round) => sum + round.row.errors, 0),
    non2xx: rounds.reduce((sum, round) => sum + round.row.non2xx, 0),
    errorDetails,
    fractionOfDatabaseCeiling: ratio((round) => round.database?.recordsPerSec),
    databaseCeilingRecordsPerSec: median(defined(rounds.map((round) => round.database?.recordsPerSec))),
    fractionOfSyncBaseline: ratio(syncRateOf),
    syncBaselineRecordsPerSec: median(defined(rounds.map(syncRateOf))),
    fractionOfStorageCeiling: storageCeiling === undefined ? null : middle.committedRecordsPerSec / storageCeiling,
    rounds: rounds.map((round) => {
      const sync = syncRateOf(round)
      return {
        committedRecordsPerSec: Math.round(round.row.committedRecordsPerSec),
        databaseCeilingRecordsPerSec: round.database === undefined ? null : Math.round(round.database.recordsPerSec),
        syncBaselineRecordsPerSec: sync === undefined ? null : Math.round(sync)
      }
    })
  }
}
