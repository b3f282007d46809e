/**
 * Reading a command's input: a file path, or `-` (and no path) for standard input.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { UsageError } from "./CliError.js"

/** Where a command reads from: a file, or standard input. */
export type InputSource = { readonly _tag: "File"; readonly path: string } | { readonly _tag: "Stdin" }

/**
 * `-` or no argument means standard input. An argument that looks like an option (`--bogus`) is one the command
 * does not know: @effect/cli hands unknown options to the positional argument.
 */
export const inputSource = (argument: Option.Option<string>): Either.Either<InputSource, UsageError> =>
  Option.match(argument, {
    onNone: () => Either.right({ _tag: "Stdin" }),
    onSome: (path) =>
      path === "-"
        ? Either.right({ _tag: "Stdin" })
        : path.startsWith("-")
          ? Either.left(new UsageError({ message: `unknown option ${path} (see --help)` }))
          : Either.right({ _tag: "File", path })
  })

/** A short name of the source for messages. */
export const describeSource = (source: InputSource): string => (source._tag === "File" ? source.path : "standard input")

const readStdin: Effect.Effect<Uint8Array, UsageError> = Effect.async((resume) => {
  const chunks: Array<Buffer> = []
  const stdin = process.stdin
  const onData = (chunk: Buffer) => chunks.push(chunk)
  const onEnd = () => resume(Effect.succeed(Buffer.concat(chunks)))
  const onError = (error: Error) =>
    resume(Effect.fail(new UsageError({ message: `cannot read standard input: ${error.message}` })))
  stdin.on("data", onData).once("end", onEnd).once("error", onError)
  return Effect.sync(() => {
    stdin.off("data", onData).off("end", onEnd).off("error", onError)
  })
})

const readBytes = (source: InputSource): Effect.Effect<Uint8Array, UsageError, FileSystem.FileSystem> =>
  source._tag === "Stdin"
    ? readStdin
    : Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(source.path)).pipe(
        Effect.mapError(
          (error) =>
            new UsageError({
              message:
                error._tag === "SystemError" && error.reason === "NotFound"
                  ? `file not found: ${source.path}`
                  : `cannot read ${source.path}: ${error.message}`
            })
        )
      )

/**
 * The whole text of the input, decoded as strict UTF-8 (invalid bytes are an error, as in Python, never silently
 * replaced). A missing or unreadable file is a `UsageError` naming it.
 */
export const readText = (source: InputSource): Effect.Effect<string, UsageError, FileSystem.FileSystem> =>
  Effect.flatMap(readBytes(source), (bytes) =>
    Effect.try({
      try: () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes),
      catch: () => new UsageError({ message: `${describeSource(source)} is not valid UTF-8 text` })
    })
  )
