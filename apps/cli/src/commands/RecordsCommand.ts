/**
 * `batchwrite records list <object>`: stored rows, oldest first, a page at a time or all of them.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, HashMap, Option } from "effect"
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
  Options.withDescription("Only the row(s) whose match key has this value, like --where email=ada@example.com")
)
const all = Options.boolean("all").pipe(
  Options.withDescription("Every row (page after page), one per line, instead of one page")
)

const list = Command.make("list", { objectName, limit, cursor, where, all }, (options) =>
  Effect.gen(function* () {
    if (options.limit < 1 || options.limit > 1000) {
      return yield* new UsageError({ message: `--limit must be between 1 and 1000 (got ${options.limit})` })
    }
    const { context, json, patient, quick } = yield* session({ objectName: options.objectName })
    const filter = Option.match(options.where, {
      onNone: () => undefined,
      onSome: (pairs) => Object.fromEntries(HashMap.toEntries(pairs))
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
    "List stored rows, oldest first, one JSON object per line.\n" +
      "Example: batchwrite records list profiles --where email=ada@example.com   |   batchwrite records list events --all > events.ndjson"
  )
)

/** `batchwrite records`. */
export const recordsCommand = Command.make("records").pipe(
  Command.withDescription("Read stored rows"),
  Command.withSubcommands([list])
)
