/**
 * Flags a command does not know, caught before @effect/cli parses the line: it often takes an unknown flag for
 * the optional file argument (`append events --dead-leter x.ndjson`). A flag within two edits of a known one is
 * suggested.
 */
import type { CommandNode } from "./CommandTree.js"

/** The flags every command takes: the global options and @effect/cli's own. */
const builtInFlags: ReadonlyMap<string, { readonly takesValue: boolean }> = new Map([
  ["--help", { takesValue: false }],
  ["-h", { takesValue: false }],
  ["--version", { takesValue: false }],
  ["--wizard", { takesValue: false }],
  ["--completions", { takesValue: true }]
])

/**
 * The first `--word` of `rest` (the arguments after the command's name) that is neither one of `command`'s flags
 * nor a global one, with the closest known flag when one is within two edits. Values of flags are not looked at,
 * nor anything after `--`.
 */
export const unknownFlag = (
  command: CommandNode,
  rest: ReadonlyArray<string>,
  globalFlags: ReadonlyMap<string, { readonly takesValue: boolean }>
): { readonly flag: string; readonly suggestion: string | undefined } | undefined => {
  const known = new Map([...globalFlags, ...builtInFlags, ...command.flags])
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === "--") return undefined
    if (!arg.startsWith("--")) continue
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg
    const flag = known.get(name)
    if (flag === undefined) return { flag: name, suggestion: closest(name, [...known.keys()]) }
    if (flag.takesValue && !arg.includes("=")) i++
  }
  return undefined
}

/** The known flag fewest edits away from `flag`, if two edits or fewer. */
const closest = (flag: string, known: ReadonlyArray<string>): string | undefined => {
  let best: { readonly name: string; readonly distance: number } | undefined
  for (const name of known) {
    const distance = editDistance(flag, name)
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions turning `a` into `b`. */
const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
