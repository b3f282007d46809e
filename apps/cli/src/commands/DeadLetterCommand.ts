/**
 * `batchwrite dead-letter replay <file>`: sends the records of a dead-letter file again, after a person fixed them.
 * Entries are grouped by object and match key (an entry of an upsert is upserted again by the same key) and sent
 * with fresh idempotency keys, so a batch whose job failed is written anew rather than replayed. Rows rejected
 * again go to `--dead-letter <file>` (another file: the replayed one is left as it is).
 */
import { resolve } from "node:path"
import { DeadLetter, type DeadLetterEntry, writeMode } from "@batchwrite/client"
import { Args, Command, Options } from "@effect/cli"
import { NodeFileSystem } from "@effect/platform-node"
import { Console, Effect, Option } from "effect"
import { UsageError, WorkError } from "../CliError.js"
import { asWorkError } from "../Failure.js"
import { fileInfo } from "../input/RecordReader.js"
import { session } from "../Root.js"
import { Rejects } from "../write/Rejects.js"
import { rejectedCount, report } from "../write/Summary.js"
import { totalsOf } from "../write/Totals.js"

const file = Args.text({ name: "file" }).pipe(
  Args.withDescription("A dead-letter file (NDJSON) that append or upsert wrote")
)

const deadLetter = Options.file("dead-letter").pipe(
  Options.optional,
  Options.withDescription("Append rows rejected again to this NDJSON file (not the one replayed)")
)

const objectFilter = Options.text("object").pipe(
  Options.optional,
  Options.withDescription("Replay only the entries of this object")
)

const strict = Options.boolean("strict").pipe(Options.withDescription("Exit 1 when any row is rejected again"))

/** The entries of one object and match key, in file order. */
interface Group {
  readonly objectName: string
  readonly matchKey: string | undefined
  readonly records: Array<unknown>
}

const groupsOf = (entries: ReadonlyArray<DeadLetterEntry>, only: Option.Option<string>): ReadonlyArray<Group> => {
  const groups = new Map<string, Group>()
  for (const entry of entries) {
    if (Option.isSome(only) && entry.objectName !== only.value) continue
    const key = `${entry.objectName}\u0000${entry.matchKey ?? ""}`
    const group = groups.get(key) ?? { objectName: entry.objectName, matchKey: entry.matchKey, records: [] }
    group.records.push(entry.record)
    groups.set(key, group)
  }
  return [...groups.values()]
}

const readEntries = (path: string) =>
  Effect.gen(function* () {
    yield* fileInfo(path)
    return yield* Effect.flatMap(DeadLetter, (deadLetter) => deadLetter.entries).pipe(
      Effect.provide(DeadLetter.file(path)),
      Effect.provide(NodeFileSystem.layer),
      Effect.mapError((error) => new UsageError({ message: `${error.message}: is it a dead-letter file?` }))
    )
  })

const replay = Command.make("replay", { file, deadLetter, objectFilter, strict }, (options) =>
  Effect.gen(function* () {
    const out = Option.getOrUndefined(options.deadLetter)
    if (out !== undefined && resolve(out) === resolve(options.file)) {
      return yield* new UsageError({ message: "--dead-letter must name another file than the one replayed" })
    }
    const groups = groupsOf(yield* readEntries(options.file), options.objectFilter)
    const { context, json, patient } = yield* session()
    let rejected = 0
    for (const group of groups) {
      const mode = group.matchKey === undefined ? "append" : "upsert"
      const rejects = new Rejects(group.objectName, group.matchKey, out)
      const started = performance.now()
      const summary = yield* patient
        .write(group.objectName, group.records, {
          ...writeMode(group.matchKey),
          collectRows: false,
          idempotencyKey: () => crypto.randomUUID(),
          onEvent: (event) =>
            Effect.sync(() => {
              if (event._tag === "Settled") rejects.add(event, 0)
            })
        })
        .pipe(asWorkError({ ...context, objectName: group.objectName }))
      const totals = totalsOf(summary)
      rejected += rejectedCount(totals)
      yield* report(
        {
          objectName: group.objectName,
          mode,
          matchKey: group.matchKey,
          totals,
          sentThisRun: summary.accepted,
          seconds: (performance.now() - started) / 1000,
          resumedAt: 0,
          rejectedBefore: 0,
          waited: true,
          jobIds: summary.jobIds,
          deadLetterFile: out,
          sample: rejects.sample
        },
        { json, strict: false }
      )
    }
    if (groups.length === 0) yield* Console.error(`batchwrite: ${options.file} holds no entries to replay`)
    if (options.strict && rejected > 0) {
      return yield* new WorkError({
        message: `${rejected} row${rejected === 1 ? " was" : "s were"} rejected again (--strict)`
      })
    }
  })
).pipe(
  Command.withDescription(
    "Send the records of a dead-letter file again, once fixed (upserted entries by their match key again).\n" +
      "Example: batchwrite dead-letter replay rejects.ndjson --dead-letter still-rejected.ndjson"
  )
)

/** `batchwrite dead-letter`. */
export const deadLetterCommand = Command.make("dead-letter").pipe(
  Command.withDescription("Rows that were not stored"),
  Command.withSubcommands([replay])
)
