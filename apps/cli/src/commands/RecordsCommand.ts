/**
 * `batchwrite records list <object>`: stored rows, oldest first, a page at a time or all of them.
 */
import { Args, Command, Options } from "@effect/cli"
import type { ObjectSchema } from "@batchwrite/core"
import { Effect, Either, HashMap, Option } from "effect"
import { UsageError } from "../CliError.js"
import { asWorkError } from "../Failure.js"
import { compactJson, hint, printLines, printResult } from "../Output.js"
import { session } from "../Root.js"

const objectName = Args.text({ name: "object" }).pipe(Args.withDescription("The object to read, like profiles"))

const limit = Options.integer("limit").pipe(
  Options.withDefault(100),
  Options.withDescription("Rows in the page, 1 to 1,000")
)
const cursor = Options.text("cursor").pipe(
  Options.optional,
  Options.withDescription("Continue after the page that printed this cursor")
)
const where = Options.keyValueMap("where").pipe(
  Options.optional,
  Options.withDescription(
    "Only the row(s) whose match key has this value, like --where email=ada@example.com. Only match keys filter " +
      "(objects get <object> lists them); another field is a usage error naming them"
  )
)

/** A `--where` on a field that is not a match key: the service filters by match keys only. */
const checkFilter = (object: ObjectSchema.ObjectDefinition, filter: Readonly<Record<string, string>>) => {
  const other = Object.keys(filter).filter((field) => !object.matchKeys.includes(field))
  if (other.length === 0) return Either.right(filter)
  const keys =
    object.matchKeys.length === 0
      ? `'${object.name}' has no match keys, so its rows cannot be filtered: list them with --all`
      : `the match keys of '${object.name}': ${object.matchKeys.join(", ")}`
  return Either.left(new UsageError({ message: `--where ${other.join(", ")}: only match keys filter rows (${keys})` }))
}
const all = Options.boolean("all").pipe(
  Options.withDescription("Every row (page after page), one per line, instead of one page")
)

const list = Command.make("list", { objectName, limit, cursor, where, all }, (options) =>
  Effect.gen(function* () {
    if (options.limit < 1 || options.limit > 1000) {
      return yield* new UsageError({ message: `--limit must be between 1 and 1000 (got ${options.limit})` })
    }
    const { context, json, patient, quick } = yield* session({ objectName: options.objectName })
    const filter = yield* Option.match(options.where, {
      onNone: () => Effect.succeed(undefined),
      onSome: (pairs) =>
        Effect.flatMap(quick.getObject(options.objectName).pipe(asWorkError(context)), (object) =>
          checkFilter(object, Object.fromEntries(HashMap.toEntries(pairs)))
        )
    })
    if (options.all) {
      yield* printLines(json, patient.allRecords(options.objectName, { filter }), compactJson).pipe(
        asWorkError(context)
      )
      return
    }
    const page = yield* quick
      .listRecords(options.objectName, { filter, limit: options.limit, cursor: Option.getOrUndefined(options.cursor) })
      .pipe(asWorkError(context))
    if (!json && page.records.length === 0) return yield* hint("no rows")
    yield* printResult(json, page, () => page.records.map(compactJson).join("\n"))
    if (!json && page.nextCursor !== null) {
      yield* hint(`more rows: add --cursor ${page.nextCursor} (or --all for every row)`)
    }
  })
).pipe(
  Command.withDescription(
    "List stored rows, oldest first, one JSON object per line; --where filters by a match key only.\n" +
      "Example: batchwrite records list profiles --where email=ada@example.com\n" +
      "         batchwrite records list events --all > events.ndjson"
  )
)

/** `batchwrite records`. */
export const recordsCommand = Command.make("records").pipe(
  Command.withDescription("Read stored rows"),
  Command.withSubcommands([list])
)
