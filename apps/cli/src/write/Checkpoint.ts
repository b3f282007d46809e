/**
 * The checkpoint of an `append`/`upsert` of a file: `<file>.batchwrite-checkpoint`, next to it, rewritten (write
 * then rename, never half-written) whenever a run of the input settles, and removed when the command ends
 * successfully. `--resume` reads it and continues after the longest prefix of the input whose outcome is recorded.
 *
 * Why this sends nothing twice: the records after that prefix are split into the same batches as before (splitting
 * is greedy from the start of a batch, and the prefix always ends at a batch boundary), and a batch's idempotency
 * key comes from its content, so a batch the service already accepted is answered by a replay of its job rather
 * than written again. Runs that settled beyond the prefix are listed, so their counts and rejected rows are not
 * counted or dead-lettered a second time.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Either, Schema } from "effect"
import { UsageError } from "../CliError.js"
import type { FileInfo } from "../input/RecordReader.js"
import { addTotals, noTotals, Totals } from "./Totals.js"

/** What the run writes, which a resumed run must write the same way. */
export const RunIdentity = Schema.Struct({
  file: Schema.String,
  size: Schema.Number,
  mtimeMs: Schema.Number,
  objectName: Schema.String,
  mode: Schema.Literal("append", "upsert"),
  matchKey: Schema.optionalWith(Schema.String, { exact: true }),
  format: Schema.String
})

/** What the run writes. */
export type RunIdentity = typeof RunIdentity.Type

/** A settled run of the input, and where the batch of the split that holds it ends (halves of one batch share it). */
const Run = Schema.Struct({ firstIndex: Schema.Number, count: Schema.Number, batchEnd: Schema.Number })

/** The checkpoint file's content. */
const CheckpointFile = Schema.Struct({
  version: Schema.Literal(1),
  run: RunIdentity,
  /** Every input record before this index is settled and counted; always the start of a batch of the split. */
  done: Schema.Number,
  /** Runs of the input settled after `done`. */
  settledAfter: Schema.Array(Run),
  totals: Totals
})

type CheckpointFile = typeof CheckpointFile.Type

const decode = Schema.decodeUnknownEither(Schema.parseJson(CheckpointFile))

/** What a run writes, apart from the file: the object, the mode and the format. */
export type RunSettings = Omit<RunIdentity, "file" | "size" | "mtimeMs">

/** Where the checkpoint of a file is kept. */
export const checkpointPath = (file: string): string => `${file}.batchwrite-checkpoint`

/** The run's identity for a file as it is now. */
export const runIdentity = (file: string, info: FileInfo, run: RunSettings): RunIdentity => ({
  ...run,
  file: resolve(file),
  size: info.size,
  mtimeMs: info.mtimeMs
})

const sameRun = (a: RunIdentity, b: RunIdentity): string | undefined => {
  if (a.size !== b.size || a.mtimeMs !== b.mtimeMs) return "the file changed since"
  if (a.objectName !== b.objectName || a.mode !== b.mode || a.matchKey !== b.matchKey) {
    return `it was a${a.mode === "append" ? "n append to" : "n upsert into"} '${a.objectName}'${a.matchKey === undefined ? "" : ` by ${a.matchKey}`}`
  }
  if (a.format !== b.format) return `it read the file as ${a.format}`
  return undefined
}

/** The progress of one write of a file, kept in its checkpoint. */
export class Checkpoint {
  private done: number
  private readonly settledAfter: Map<number, { readonly count: number; readonly batchEnd: number }>
  private totals: Totals

  private constructor(
    private readonly path: string | undefined,
    private readonly run: RunIdentity | undefined,
    state: Pick<CheckpointFile, "done" | "settledAfter" | "totals">
  ) {
    this.done = state.done
    this.settledAfter = new Map(state.settledAfter.map(({ firstIndex, ...run }) => [firstIndex, run]))
    this.totals = state.totals
  }

  /** A fresh checkpoint for the run (written at the first settled run). */
  static start(path: string, run: RunIdentity): Checkpoint {
    return new Checkpoint(path, run, { done: 0, settledAfter: [], totals: noTotals })
  }

  /** Progress kept in memory only: for standard input, which cannot be resumed. */
  static inMemory(): Checkpoint {
    return new Checkpoint(undefined, undefined, { done: 0, settledAfter: [], totals: noTotals })
  }

  /** Whether a checkpoint exists at `path`. */
  static exists(path: string): boolean {
    return existsSync(path)
  }

  /**
   * The checkpoint at `path` for this run, or a fresh one when there is none. A checkpoint of another run (the file
   * changed, another object or mode) is a `UsageError`: resuming it would not write what it says.
   */
  static resume(path: string, run: RunIdentity): Either.Either<Checkpoint, UsageError> {
    if (!existsSync(path)) return Either.right(Checkpoint.start(path, run))
    const decoded = decode(readFileSync(path, "utf8"))
    if (Either.isLeft(decoded)) {
      return Either.left(
        new UsageError({ message: `${path} is not a batchwrite checkpoint: delete it to start over without --resume` })
      )
    }
    const different = sameRun(decoded.right.run, run)
    if (different !== undefined) {
      return Either.left(
        new UsageError({
          message: `cannot resume from ${path}: ${different}; delete it (or run without --resume) to start over`
        })
      )
    }
    return Either.right(new Checkpoint(path, run, decoded.right))
  }

  /** The input records before this index are settled: a resumed run starts here. */
  get resumeAt(): number {
    return this.done
  }

  /** What was counted so far, this run and the runs it resumes. */
  get counted(): Totals {
    return this.totals
  }

  /**
   * Whether the run of the input starting at `firstIndex` is already recorded (by an earlier, interrupted run of
   * the command): its outcome must not be counted or dead-lettered again.
   */
  isSettled(firstIndex: number): boolean {
    return firstIndex < this.done || this.settledAfter.has(firstIndex)
  }

  /**
   * Records a settled run of the input (in `batch`, the batch of the split that holds it) and its counts, and saves;
   * a run already recorded changes nothing. The resume point moves over settled runs, but only to the end of a
   * batch: a run resumed from the middle of a halved batch would be split differently, so sent under another key.
   */
  settle(
    run: { readonly firstIndex: number; readonly count: number },
    batch: { readonly firstIndex: number; readonly count: number },
    totals: Totals
  ): void {
    if (this.isSettled(run.firstIndex)) return
    this.settledAfter.set(run.firstIndex, { count: run.count, batchEnd: batch.firstIndex + batch.count })
    this.totals = addTotals(this.totals, totals)
    let position = this.done
    let batchStart = this.done
    for (let next = this.settledAfter.get(position); next !== undefined; next = this.settledAfter.get(position)) {
      position += next.count
      if (position === next.batchEnd) batchStart = position
    }
    for (const firstIndex of this.settledAfter.keys()) if (firstIndex < batchStart) this.settledAfter.delete(firstIndex)
    this.done = batchStart
    this.save()
  }

  /** Writes the checkpoint (to a temporary file renamed over it, so it is never seen half-written). */
  save(): void {
    if (this.path === undefined || this.run === undefined) return
    const file: CheckpointFile = {
      version: 1,
      run: this.run,
      done: this.done,
      settledAfter: Array.from(this.settledAfter, ([firstIndex, run]) => ({ firstIndex, ...run })),
      totals: this.totals
    }
    writeFileSync(`${this.path}.tmp`, JSON.stringify(file))
    renameSync(`${this.path}.tmp`, this.path)
  }

  /** Removes the checkpoint: the write is complete. */
  remove(): void {
    if (this.path !== undefined) rmSync(this.path, { force: true })
  }
}
