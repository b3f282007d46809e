/**
 * Global options anywhere on the line. @effect/cli reads the root command's options (`--url`, `--token`, `--json`)
 * and its built-in `--log-level` only before a subcommand's own arguments: `batchwrite append events --url U` (the
 * file left out) fails with "unknown argument". So before parsing, every global option is moved, with its value,
 * to the front of the line, where both read it; everything else keeps its order.
 */

/** The global options and whether each takes a value (`--log-level` is @effect/cli's own). */
export const globalOptions: ReadonlyMap<string, { readonly takesValue: boolean }> = new Map([
  ["--url", { takesValue: true }],
  ["--token", { takesValue: true }],
  ["--json", { takesValue: false }],
  ["--log-level", { takesValue: true }]
])

/**
 * `argv` (`node`, the script, then the arguments) with the global options first. `--name=value` becomes
 * `--name value`; nothing after a `--` moves.
 */
export const hoistGlobalOptions = (argv: ReadonlyArray<string>): Array<string> => {
  const [runtime = "node", script = "batchwrite", ...args] = argv
  const logLevel: Array<string> = []
  const global: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    const [name, inlineValue] = arg.startsWith("--") && arg.includes("=") ? splitOnce(arg) : [arg, undefined]
    const option = globalOptions.get(name)
    if (option === undefined) {
      rest.push(arg)
    } else if (!option.takesValue) {
      global.push(arg)
    } else if (inlineValue !== undefined || i + 1 < args.length) {
      const value = inlineValue ?? args[++i]!
      // --log-level first: @effect/cli takes it off the line and parses the rest again.
      if (name === "--log-level") logLevel.push(name, value)
      else global.push(name, value)
    } else {
      rest.push(arg) // no value: left where it is, for @effect/cli to report
    }
  }
  return [runtime, script, ...logLevel, ...global, ...rest]
}

/** The subcommand of a command line (`argv` with `node` and the script): its first word once the global options are set aside. */
export const subcommandOf = (argv: ReadonlyArray<string>): string | undefined => {
  const args = hoistGlobalOptions(argv).slice(2)
  for (let i = 0; i < args.length; i++) {
    const option = globalOptions.get(args[i]!)
    if (option === undefined) return args[i]
    if (option.takesValue) i++
  }
  return undefined
}

const splitOnce = (arg: string): [string, string] => {
  const at = arg.indexOf("=")
  return [arg.slice(0, at), arg.slice(at + 1)]
}
