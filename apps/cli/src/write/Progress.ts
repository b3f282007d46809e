/**
 * The progress line of `append`/`upsert` on standard error: records sent, records/s, jobs pending, how much of the
 * file is read and the time left. Drawn only when standard error is a terminal (a person is watching), redrawn in
 * place four times a second, and erased before the summary; nothing at all when it is piped or redirected.
 */
import { Duration, Effect, Schedule } from "effect"
import type { ReadProgress } from "../input/RecordReader.js"
import { formatCount } from "./Summary.js"

/** What the progress line shows, updated by the write as it goes. */
export interface WriteProgress {
  /** Records in batches the service accepted, in this run. */
  sent: number
  /** Jobs accepted and not settled yet. */
  pendingJobs: number
  readonly read: ReadProgress
}

const formatDuration = (seconds: number): string =>
  seconds >= 3600
    ? `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
    : seconds >= 60
      ? `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
      : `${Math.max(1, Math.round(seconds))} s`

/** The progress line at `elapsed` seconds into the run. */
export const progressLine = (progress: WriteProgress, elapsed: number): string => {
  const rate = elapsed > 0 ? progress.sent / elapsed : 0
  const parts = [
    `${formatCount(progress.sent)} records sent`,
    `${formatCount(Math.round(rate))} records/s`,
    `${progress.pendingJobs} job${progress.pendingJobs === 1 ? "" : "s"} pending`
  ]
  const total = progress.read.totalBytes
  if (total !== undefined && total > 0) {
    const fraction = Math.min(1, progress.read.bytesRead / total)
    parts.push(`${Math.floor(fraction * 100)}% read`)
    if (fraction > 0.01 && fraction < 1) parts.push(`ETA ${formatDuration((elapsed * (1 - fraction)) / fraction)}`)
  }
  return parts.join(" · ")
}

/** Whether progress is drawn: standard error is a terminal. */
export const showsProgress = (): boolean => process.stderr.isTTY === true

/**
 * Draws the progress line while `effect` runs (when standard error is a terminal), and erases it when it ends,
 * however it ends.
 */
export const withProgress = <A, E, R>(progress: WriteProgress, effect: Effect.Effect<A, E, R>) => {
  if (!showsProgress()) return effect
  const started = performance.now()
  const draw = Effect.sync(() => {
    const line = progressLine(progress, (performance.now() - started) / 1000)
    process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stderr.columns || 120) - 1))}`)
  })
  const erase = Effect.sync(() => process.stderr.write("\r\x1b[2K"))
  return Effect.scoped(
    Effect.zipRight(Effect.forkScoped(Effect.repeat(draw, Schedule.spaced(Duration.millis(250)))), effect)
  ).pipe(Effect.ensuring(erase))
}
