/**
 * Printing results on standard output: JSON for machines with `--json` (one document per result, one line per
 * item of a list), text for people otherwise.
 */
import { Console, type Effect, Stream } from "effect"

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
