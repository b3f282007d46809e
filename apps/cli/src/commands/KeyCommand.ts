/**
 * `batchwrite key [file|-] [--queue-ids]`: prints the idempotency key of a batch file, identical to the hosted
 * API's Python recipes (SPEC §5).
 */
import { type Json, Keys, LosslessJson } from "@batchwrite/core"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Either } from "effect"
import { UsageError } from "../CliError.js"
import { describeSource, inputSource, readText } from "../Input.js"
import { root } from "../Root.js"

const file = Args.text({ name: "file|-" }).pipe(
  Args.withDescription(
    "A JSON file with an array of records (or of message ids with --queue-ids); - or nothing reads stdin"
  ),
  Args.optional
)

const queueIds = Options.boolean("queue-ids").pipe(
  Options.withDescription("The file is a JSON array of message ids: print the queue consumer's key of those ids")
)

const typeName = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value

/** The key of the parsed file, or why the file cannot have one. */
export const keyOf = (json: Json.Json, queue: boolean): Either.Either<string, string> => {
  if (!Array.isArray(json)) {
    const what = queue ? "message ids" : "records"
    return Either.left(`expected a JSON array of ${what}, got ${typeName(LosslessJson.toPlain(json))}`)
  }
  if (!queue) return Either.right(Keys.batchIdempotencyKey(json))
  const nonString = json.findIndex((id) => typeof id !== "string")
  if (nonString >= 0) {
    return Either.left(
      `message id at index ${nonString} is a ${typeName(LosslessJson.toPlain(json[nonString]!))}, expected a string`
    )
  }
  return Either.right(Keys.queueBatchKey(json as ReadonlyArray<string>))
}

/** The `key` command. */
export const keyCommand = Command.make("key", { file, queueIds }, ({ file, queueIds }) =>
  Effect.gen(function* () {
    const source = yield* inputSource(file)
    const text = yield* readText(source)
    const parsed = yield* Either.mapLeft(
      LosslessJson.parse(text),
      (error) => new UsageError({ message: `${describeSource(source)} is not valid JSON: ${error.message}` })
    )
    const key = yield* Either.mapLeft(
      keyOf(parsed, queueIds),
      (problem) => new UsageError({ message: `${describeSource(source)}: ${problem}` })
    )
    const global = yield* root
    yield* Console.log(global.json ? JSON.stringify({ key }) : key)
  })
).pipe(
  Command.withDescription(
    "Print the idempotency key of a batch file, as the hosted API's Python recipe computes it.\n" +
      "Example: batchwrite key batch.json\n" +
      "         batchwrite key --queue-ids ids.json\n" +
      "         cat batch.json | batchwrite key -"
  )
)
