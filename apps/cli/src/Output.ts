/**
 * Printing results on standard output: JSON for machines with `--json` (one document per result, one line per
 * item of a list), text for people otherwise.
 */
import { Console, Effect, Stream } from "effect"

/** Prints a result: `value` as one JSON document with `--json`, else the text `human` gives. */
export const printResult = (json: boolean, value: unknown, human: () => string): Effect.Effect<void> =>
  Console.log(json ? JSON.stringify(value) : human())

/** Prints every item of a stream on its own line, as it comes: JSON with `--json`, else the text `human` gives. */
export const printLines = <A, E, R>(
  json: boolean,
  items: Stream.Stream<A, E, R>,
  human: (item: A) => string
): Effect.Effect<number, E, R> =>
  Stream.runFold(
    Stream.mapEffect(items, (item) => Console.log(json ? JSON.stringify(item) : human(item))),
    0,
    (count) => count + 1
  )

/** A value as compact JSON text. */
export const compactJson = (value: unknown): string => JSON.stringify(value)

/** Pads text to a column width. */
export const column = (text: string, width: number): string => text.padEnd(width)

/** Sends a hint for people to standard error (never mixed into the output). */
export const hint = (text: string): Effect.Effect<void> => Console.error(text)

/** An SGR escape sequence (colour, bold, underline): how @effect/cli styles its help and usage errors. */
const styling = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

const plainFor = (stream: NodeJS.WriteStream, args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  stream.isTTY ? args : args.map((arg) => (typeof arg === "string" ? arg.replace(styling, "") : arg))

/**
 * Runs `self` printing without colours and bold on a standard output or error that is not a terminal: @effect/cli
 * styles its help and usage errors whatever the stream, and a file or a pipe should get plain text.
 */
export const plainWhenPiped = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((current) =>
    Effect.withConsole(self, {
      ...current,
      log: (...args) => current.log(...plainFor(process.stdout, args)),
      error: (...args) => current.error(...plainFor(process.stderr, args))
    })
  )
