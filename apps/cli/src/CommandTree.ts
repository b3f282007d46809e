/**
 * The command tree as data: each command's path (`jobs get`), description, flags and subcommands, and which
 * command a command line is for. Help and the unknown-flag check read it. @effect/cli's `getSubcommands` keeps
 * one level only (`jobs`, not `jobs get`), so the tree is read from the command descriptors themselves.
 */
import { CommandDescriptor, type HelpDoc, type Usage } from "@effect/cli"

/** One command of the tree. */
export interface CommandNode {
  /** The words that name it after `batchwrite` (empty for the root). */
  readonly path: ReadonlyArray<string>
  /** The command alone, without its subcommands: what `CommandDescriptor.getHelp` and `getUsage` describe. */
  readonly descriptor: CommandDescriptor.Command<unknown>
  readonly description: HelpDoc.HelpDoc
  /** Its own flags (`--dead-letter`), and whether each takes a value. */
  readonly flags: ReadonlyMap<string, { readonly takesValue: boolean }>
  readonly subcommands: ReadonlyArray<CommandNode>
}

/**
 * The shapes a command descriptor is built from (`Command.make` gives a `Standard`, `Command.withSubcommands` a
 * `Subcommands`, handlers and `Command.provide` a `Map`): @effect/cli's `Instruction`, which it does not export.
 */
type Instruction =
  | { readonly _tag: "Standard" | "GetUserInput"; readonly name: string; readonly description: HelpDoc.HelpDoc }
  | { readonly _tag: "Map"; readonly command: Instruction }
  | { readonly _tag: "Subcommands"; readonly parent: Instruction; readonly children: ReadonlyArray<Instruction> }

const nodeOf = (instruction: Instruction, path: ReadonlyArray<string>): CommandNode => {
  switch (instruction._tag) {
    case "Standard":
    case "GetUserInput": {
      const descriptor = instruction as unknown as CommandDescriptor.Command<unknown>
      return {
        path,
        descriptor,
        description: instruction.description,
        flags: flagsOf(CommandDescriptor.getUsage(descriptor)),
        subcommands: []
      }
    }
    case "Map":
      return nodeOf(instruction.command, path)
    case "Subcommands": {
      const parent = nodeOf(instruction.parent, path)
      return {
        ...parent,
        subcommands: instruction.children.map((child) => nodeOf(child, [...path, nameOf(child)]))
      }
    }
  }
}

const nameOf = (instruction: Instruction): string => {
  switch (instruction._tag) {
    case "Standard":
    case "GetUserInput":
      return instruction.name
    case "Map":
      return nameOf(instruction.command)
    case "Subcommands":
      return nameOf(instruction.parent)
  }
}

/** The flags a usage names (the command's own name is a `Named` too, without dashes). */
const flagsOf = (usage: Usage.Usage): Map<string, { readonly takesValue: boolean }> => new Map(namedFlags(usage))

const namedFlags = (usage: Usage.Usage): Array<[string, { readonly takesValue: boolean }]> => {
  switch (usage._tag) {
    case "Named":
      return usage.names
        .filter((name) => name.startsWith("-"))
        .map((name) => [name, { takesValue: usage.acceptedValues._tag === "Some" }])
    case "Optional":
    case "Repeated":
      return namedFlags(usage.usage)
    case "Alternation":
    case "Concat":
      return [...namedFlags(usage.left), ...namedFlags(usage.right)]
    case "Empty":
    case "Mixed":
      return []
  }
}

/** The tree of a command and its subcommands, at any depth. */
export const commandTree = (command: { readonly descriptor: CommandDescriptor.Command<unknown> }): CommandNode =>
  nodeOf(command.descriptor as unknown as Instruction, [])

/** Every command of the tree below `node`, depth first, in the order they were declared. */
export const descendantsOf = (node: CommandNode): Array<CommandNode> =>
  node.subcommands.flatMap((subcommand) => [subcommand, ...descendantsOf(subcommand)])

/**
 * The command a line is for (its arguments without `node` and the script, global options first as
 * `hoistGlobalOptions` puts them): the leading words that name subcommands, and the arguments after them.
 */
export const commandOfLine = (
  root: CommandNode,
  args: ReadonlyArray<string>,
  globalFlags: ReadonlyMap<string, { readonly takesValue: boolean }>
): { readonly command: CommandNode; readonly rest: ReadonlyArray<string> } => {
  let i = 0
  while (i < args.length && globalFlags.has(args[i]!)) i += globalFlags.get(args[i]!)!.takesValue ? 2 : 1
  let command = root
  for (;;) {
    const next = command.subcommands.find((subcommand) => subcommand.path.at(-1) === args[i])
    if (next === undefined) return { command, rest: args.slice(i) }
    command = next
    i++
  }
}
