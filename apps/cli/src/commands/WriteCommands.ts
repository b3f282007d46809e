/**
 * `batchwrite append <object> [file|-]` and `batchwrite upsert <object> --match-key <field> [file|-]` (SPEC §4):
 * NDJSON, a JSON array or CSV, of any size, streamed through the client's `write` (split into batches, sent
 * `--concurrency` at a time, jobs awaited unless `--no-wait`), with progress on a terminal, rejected rows to
 * `--dead-letter`, a checkpoint for `--resume`, and a summary at the end.
 */
import { writeMode } from "@batchwrite/client"
import type { ObjectSchema } from "@batchwrite/core"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either, Option, Stream } from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { asWorkError } from "../Failure.js"
import { type InputSource, inputSource } from "../Input.js"
import { RecordLines } from "../input/RecordLines.js"
import { type FileInfo, fileInfo, type Format, formats, parserFor, readRecords } from "../input/RecordReader.js"
import { session } from "../Root.js"
import { Checkpoint, checkpointPath, type RunSettings, runIdentity } from "../write/Checkpoint.js"
import { limitHeapGrowth } from "../write/HeapGrowth.js"
import { type WriteProgress, withProgress } from "../write/Progress.js"
import { Rejects } from "../write/Rejects.js"
import { totalsOf } from "../write/Totals.js"
import { formatCount, rejectedCount, report } from "../write/Summary.js"

const objectName = Args.text({ name: "object" }).pipe(Args.withDescription("The object to write into, like events"))

const file = Args.text({ name: "file|-" }).pipe(
  Args.withDescription(
    "NDJSON, a JSON array or CSV (by --format, else .csv, else the first character); - or nothing reads stdin"
  ),
  Args.optional
)

const format = Options.choice("format", formats).pipe(
  Options.withDefault("auto" as Format),
  Options.withDescription(
    "ndjson, json (an array), csv (header row, values typed by the object's schema) or auto: .csv files are CSV, " +
      "other input is a JSON array when it starts with '[', else NDJSON"
  )
)

const concurrency = Options.integer("concurrency").pipe(
  Options.optional,
  Options.withDescription(
    "Batches in flight at once (default 4 for append, 1 for upsert, which keeps later records winning over earlier ones)"
  )
)

const noWait = Options.boolean("no-wait").pipe(
  Options.withDescription("Do not wait for the jobs: end once every batch is accepted (202) and print the job ids")
)

const deadLetter = Options.file("dead-letter").pipe(
  Options.optional,
  Options.withDescription(
    "Append every rejected row, with why, to this NDJSON file (replay it with dead-letter replay)"
  )
)

const resume = Options.boolean("resume").pipe(
  Options.withDescription(
    "Continue an interrupted run of this file from its checkpoint (<file>.batchwrite-checkpoint): nothing is written twice"
  )
)

const strict = Options.boolean("strict").pipe(
  Options.withDescription("Exit 1 when any row is rejected (by default rejected rows are reported and the exit is 0)")
)

const matchKey = Options.text("match-key").pipe(
  Options.withDescription("The field records are matched by: one of the object's match keys, like email")
)

interface WriteFlags {
  readonly objectName: string
  readonly file: Option.Option<string>
  readonly format: Format
  readonly concurrency: Option.Option<number>
  readonly noWait: boolean
  readonly deadLetter: Option.Option<string>
  readonly resume: boolean
  readonly strict: boolean
}

/** Where the input is, and its size and modification time when it is a file. */
const openInput = (flags: WriteFlags) =>
  Effect.gen(function* () {
    if (Option.isSome(flags.concurrency) && flags.concurrency.value < 1) {
      return yield* new UsageError({ message: "--concurrency must be at least 1" })
    }
    const source = yield* inputSource(flags.file)
    if (source._tag === "Stdin" && flags.resume) {
      return yield* new UsageError({ message: "--resume needs a file: standard input cannot be read again" })
    }
    const info = source._tag === "File" ? yield* fileInfo(source.path) : undefined
    return { source, info }
  })

/** Checks the match key against the object's schema, before anything is sent. */
const checkMatchKey = (object: ObjectSchema.ObjectDefinition, mode: "append" | "upsert", key: string | undefined) => {
  if (mode === "upsert" && !object.matchKeys.includes(key ?? "")) {
    const keys =
      object.matchKeys.length === 0
        ? "it has none, so records can only be appended"
        : `its match keys: ${object.matchKeys.join(", ")}`
    return Either.left(
      new UsageError({ message: `--match-key '${key}' is not a match key of '${object.name}' (${keys})` })
    )
  }
  return Either.right(undefined)
}

/** The checkpoint of this run: resumed, fresh, or (for standard input) in memory only. */
const checkpointFor = (source: InputSource, info: FileInfo | undefined, run: RunSettings, resume: boolean) =>
  Effect.gen(function* () {
    if (source._tag === "Stdin" || info === undefined) return Checkpoint.inMemory()
    const path = checkpointPath(source.path)
    const identity = runIdentity(source.path, info, run)
    if (resume) return yield* Checkpoint.resume(path, identity)
    if (Checkpoint.exists(path)) {
      yield* Console.error(
        `batchwrite: ${path} holds the checkpoint of an interrupted run; starting over (add --resume to continue it)`
      )
    }
    return Checkpoint.start(path, identity)
  })

/**
 * Jobs awaited at once. Each keeps its batch's body until its job is done (in case it fails): 8 keeps the memory of
 * the command small (a 2,000,000-row file stays far under 300 MB) and is plenty, as the service works through the
 * jobs of one object in order anyway.
 */
const awaitConcurrency = 8

/** How to continue after a failure or an interruption. */
const resumeHint = (checkpoint: Checkpoint): string =>
  `the first ${formatCount(checkpoint.resumeAt)} records are done: run it again with --resume to continue`

/** Runs `append` or `upsert`. */
const runWrite = (mode: "append" | "upsert", key: string | undefined, flags: WriteFlags) =>
  Effect.gen(function* () {
    const { source, info } = yield* openInput(flags)
    const { context, json, patient, quick } = yield* session({ objectName: flags.objectName })
    const object = yield* quick.getObject(flags.objectName).pipe(asWorkError(context))
    yield* checkMatchKey(object, mode, key)
    const run: RunSettings = {
      objectName: flags.objectName,
      mode,
      ...(key === undefined ? {} : { matchKey: key }),
      format: flags.format
    }
    const checkpoint = yield* checkpointFor(source, info, run, flags.resume)
    const rejectedBefore = rejectedCount(checkpoint.counted)
    const recordLines = new RecordLines()
    const rejects = new Rejects(flags.objectName, key, Option.getOrUndefined(flags.deadLetter), (index) => {
      const line = recordLines.lineOf(index)
      return line === undefined ? `record ${index + 1}` : `line ${line}`
    })
    const skip = checkpoint.resumeAt
    const progress: WriteProgress = {
      sent: 0,
      pendingJobs: 0,
      read: { bytesRead: 0, totalBytes: info?.size }
    }
    const jobIds: Array<string> = []
    const lock = yield* Effect.makeSemaphore(1)
    const records = readRecords(source, parserFor(source, flags.format, object, recordLines), progress.read).pipe(
      Stream.drop(skip)
    )
    limitHeapGrowth()
    const started = performance.now()

    yield* withProgress(
      progress,
      patient.write(flags.objectName, records, {
        // checkMatchKey made sure an upsert has its key and an append has none
        ...writeMode(key),
        concurrency: Option.getOrUndefined(flags.concurrency),
        awaitConcurrency,
        wait: !flags.noWait,
        collectRows: false,
        onEvent: (event) =>
          lock.withPermits(1)(
            Effect.sync(() => {
              if (event._tag === "Accepted") {
                progress.sent += event.count
                progress.pendingJobs++
                jobIds.push(event.jobId)
                return
              }
              if (event.jobId !== undefined) progress.pendingJobs--
              // A run an earlier, interrupted run already settled: counted and dead-lettered then.
              if (checkpoint.isSettled(event.firstIndex + skip)) return
              rejects.add(event, skip)
              checkpoint.settle(
                { firstIndex: event.firstIndex + skip, count: event.count },
                { firstIndex: event.batch.firstIndex + skip, count: event.batch.count },
                totalsOf(event.outcome)
              )
            })
          )
      })
    ).pipe(
      asWorkError(context),
      Effect.mapError((error) =>
        error._tag === "WorkError" && source._tag === "File"
          ? new WorkError({ message: `${error.message} (${resumeHint(checkpoint)})` })
          : error
      ),
      Effect.onInterrupt(() =>
        source._tag === "File" ? Console.error(`batchwrite: interrupted; ${resumeHint(checkpoint)}`) : Effect.void
      )
    )

    checkpoint.remove()
    yield* report(
      {
        objectName: flags.objectName,
        mode,
        matchKey: key,
        totals: checkpoint.counted,
        sentThisRun: progress.sent,
        seconds: (performance.now() - started) / 1000,
        resumedAt: skip,
        rejectedBefore,
        waited: !flags.noWait,
        jobIds,
        deadLetterFile: rejects.file,
        sample: rejects.sample
      },
      { json, strict: flags.strict }
    )
  })

const writeExample = (mode: "append" | "upsert") =>
  mode === "append"
    ? "Append records to an object (NDJSON, JSON array or CSV; any size).\n" +
      "Example: batchwrite append events events.ndjson --dead-letter rejects.ndjson\n" +
      "         gzip -dc big.ndjson.gz | batchwrite append events -\n" +
      "         batchwrite append events huge.csv --resume   (continues an interrupted run)"
    : "Upsert records into an object by one of its match keys (NDJSON, JSON array or CSV; any size).\n" +
      "Example: batchwrite upsert profiles --match-key email profiles.csv --dead-letter rejects.ndjson"

const common = { objectName, file, format, concurrency, noWait, deadLetter, resume, strict }

/** `batchwrite append`. */
export const appendCommand = Command.make("append", common, (flags) =>
  runWrite("append", undefined, { ...flags, objectName: flags.objectName })
).pipe(Command.withDescription(writeExample("append")))

/** `batchwrite upsert`. */
export const upsertCommand = Command.make("upsert", { ...common, matchKey }, (flags) =>
  runWrite("upsert", flags.matchKey, flags)
).pipe(Command.withDescription(writeExample("upsert")))
