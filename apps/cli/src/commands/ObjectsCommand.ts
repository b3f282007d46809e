/**
 * `batchwrite objects list|get|put`: the objects of the token's workspace and their schemas.
 */
import { ObjectSchema } from "@batchwrite/core"
import { Args, Command } from "@effect/cli"
import { Effect, Either, ParseResult, Schema } from "effect"
import { UsageError } from "../CliError.js"
import { asWorkError } from "../Failure.js"
import { describeSource, inputSource, readText } from "../Input.js"
import { printResult } from "../Output.js"
import { session } from "../Root.js"

const name = Args.text({ name: "name" }).pipe(Args.withDescription("The object's name, like events"))

const schemaFile = Args.text({ name: "file|-" }).pipe(
  Args.withDescription(
    'A JSON file with the schema: {"fields": {...}, "matchKeys": [...], "orderBy": "..."}; - reads stdin'
  ),
  Args.optional
)

/** An object's schema for a person: one line per field. */
export const describeObject = (object: ObjectSchema.ObjectDefinition): string => {
  const fields = Object.entries(object.fields).map(
    ([field, definition]) =>
      `  ${field.padEnd(20)} ${definition.type}${definition.required === true ? ", required" : ""}` +
      `${definition.maxLength === undefined ? "" : `, at most ${definition.maxLength} characters`}` +
      `${object.matchKeys.includes(field) ? ", match key" : ""}${object.orderBy === field ? ", orderBy" : ""}`
  )
  return [`${object.name}`, ...fields].join("\n")
}

const list = Command.make("list", {}, () =>
  Effect.gen(function* () {
    const { context, json, quick } = yield* session()
    const objects = yield* quick.listObjects.pipe(asWorkError(context))
    yield* printResult(json, { objects }, () =>
      objects
        .map(
          (object) =>
            `${object.name.padEnd(24)} ${Object.keys(object.fields).length} fields` +
            `${object.matchKeys.length === 0 ? "" : ` · match keys ${object.matchKeys.join(", ")}`}`
        )
        .join("\n")
    )
  })
).pipe(Command.withDescription("List the objects of the workspace.\nExample: batchwrite objects list"))

const get = Command.make("get", { name }, ({ name }) =>
  Effect.gen(function* () {
    const { context, json, quick } = yield* session({ objectName: name })
    const object = yield* quick.getObject(name).pipe(asWorkError(context))
    yield* printResult(json, object, () => describeObject(object))
  })
).pipe(Command.withDescription("Show an object's schema.\nExample: batchwrite objects get profiles --json"))

const decodeDefinition = Schema.decodeUnknownEither(Schema.parseJson(ObjectSchema.ObjectDefinitionInput), {
  onExcessProperty: "error"
})

const put = Command.make("put", { name, schemaFile }, ({ name, schemaFile }) =>
  Effect.gen(function* () {
    const source = yield* inputSource(schemaFile)
    const text = yield* readText(source)
    const definition = yield* Either.mapLeft(
      decodeDefinition(text),
      (error) =>
        new UsageError({
          message: `${describeSource(source)} is not an object schema: ${ParseResult.ArrayFormatter.formatErrorSync(
            error
          )
            .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`))
            .join("; ")}`
        })
    )
    const { context, json, quick } = yield* session({ objectName: name })
    const object = yield* quick.putObject(name, definition).pipe(asWorkError(context))
    yield* printResult(
      json,
      object,
      () => `saved '${object.name}'\n${describeObject(object).split("\n").slice(1).join("\n")}`
    )
  })
).pipe(
  Command.withDescription(
    "Create an object, or change its schema (adding fields; a field's type cannot change). Needs an admin token.\n" +
      "Example: batchwrite objects put products - <<'EOF'\n" +
      '{"fields":{"sku":{"type":"string","required":true},"price":{"type":"number"}},"matchKeys":["sku"]}\n' +
      "EOF"
  )
)

/** `batchwrite objects`. */
export const objectsCommand = Command.make("objects").pipe(
  Command.withDescription("Objects and their schemas"),
  Command.withSubcommands([list, get, put])
)
