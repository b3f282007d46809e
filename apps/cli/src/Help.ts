/**
 * `--help`, for the root and every command: @effect/cli's own description of the command's arguments and options,
 * without its generic lines (the value's type, "This setting is optional.", the environment line when our
 * description names the variable), a short list of the subcommands, and every line within 100 columns.
 */
import { CliConfig, CommandDescriptor, HelpDoc, Usage } from "@effect/cli"
import type { Span } from "@effect/cli/HelpDoc/Span"
import { Array as Arr } from "effect"
import { type CommandNode, descendantsOf } from "./CommandTree.js"

/** The widest line help prints. */
const helpWidth = 100

/** The help of `command` (`root` for the root), as printed on standard output. */
export const helpText = (command: CommandNode, version: string): string => {
  const name = ["batchwrite", ...command.path].join(" ")
  // @effect/cli's usage starts with the command's own name: the words before it are its parents'.
  const prefix = command.path.length === 0 ? "$ " : `$ ${["batchwrite", ...command.path.slice(0, -1)].join(" ")} `
  const more = command.subcommands.length > 0 ? " <command>" : ""
  const usages = Usage.enumerate(CommandDescriptor.getUsage(command.descriptor), CliConfig.defaultConfig).map((usage) =>
    wrap(`${prefix}${spanText(usage)}${more}`, 4)
  )
  const doc = HelpDoc.blocks([
    HelpDoc.p(`batchwrite ${version}`),
    HelpDoc.h1("USAGE"),
    HelpDoc.p(usages.join("\n")),
    withoutFiller(CommandDescriptor.getHelp(command.descriptor, CliConfig.defaultConfig)),
    command.subcommands.length === 0
      ? HelpDoc.empty
      : HelpDoc.blocks([
          HelpDoc.h1("COMMANDS"),
          HelpDoc.p(commandList(command)),
          HelpDoc.p(`Run ${name} <command> --help for a command's arguments, options and an example.`)
        ]),
    command.path.length === 0
      ? HelpDoc.empty
      : HelpDoc.p("Global options (anywhere on the line): --url, --token, --json; see batchwrite --help.")
  ])
  return HelpDoc.toAnsiText(doc)
    .split("\n")
    .map((line) => wrap(line, 0))
    .join("\n")
}

/** A line per command below `command` (more when it wraps): its name and the first sentence of its description. */
const commandList = (command: CommandNode): string => {
  const entries = descendantsOf(command).map((subcommand) => ({
    name: subcommand.path.slice(command.path.length).join(" "),
    summary: firstSentence(helpDocText(subcommand.description))
  }))
  const width = Math.max(...entries.map((entry) => entry.name.length)) + 4
  return entries.map((entry) => wrap(`  ${entry.name.padEnd(width - 2)}${entry.summary}`, width - 2)).join("\n")
}

const firstSentence = (text: string): string => {
  const flowing = text.replace(/\s+/g, " ").trim()
  const end = flowing.search(/\.( |$)/)
  return end === -1 ? flowing : flowing.slice(0, end)
}

/**
 * `doc` without @effect/cli's generic lines. In each option's and argument's description the first paragraph is
 * the value's type ("A user-defined piece of text.", "An integer.", "One of the following: …"), which the usage
 * shown above it already says; "This setting is optional." is said by the brackets of the usage; "This option can
 * be set from environment variables." goes when our description names the variable (`BATCHWRITE_…`).
 */
const withoutFiller = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  switch (doc._tag) {
    case "Sequence":
      return HelpDoc.sequence(withoutFiller(doc.left), withoutFiller(doc.right))
    case "DescriptionList":
      return HelpDoc.descriptionList(
        Arr.map(doc.definitions, ([term, description]): [Span, HelpDoc.HelpDoc] => [
          term,
          withoutGenericLines(description)
        ])
      )
    default:
      return doc
  }
}

const environmentLine = "This option can be set from environment variables."

const withoutGenericLines = (description: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  const [type, ...paragraphs] = paragraphsOf(description)
  const own = paragraphs.filter((paragraph) => paragraph !== environmentLine && !paragraph.startsWith("This setting"))
  const namesVariable = own.some((paragraph) => paragraph.includes("BATCHWRITE_"))
  const kept = paragraphs.flatMap((paragraph) => {
    if (paragraph === environmentLine) return namesVariable ? [] : [paragraph]
    if (paragraph === "This setting is optional.") return []
    const defaultValue = /^This setting is optional\. Defaults to: (.*)$/s.exec(paragraph)
    if (defaultValue !== null) return [`Default: ${defaultValue[1]}`]
    return [paragraph]
  })
  // An option with no description of its own keeps its type, so that it says something.
  const lines = kept.length === 0 && type !== undefined ? [type] : kept
  return HelpDoc.blocks(lines.map((line) => HelpDoc.p(line)))
}

const paragraphsOf = (doc: HelpDoc.HelpDoc): Array<string> => {
  switch (doc._tag) {
    case "Sequence":
      return [...paragraphsOf(doc.left), ...paragraphsOf(doc.right)]
    case "Empty":
      return []
    default:
      return [helpDocText(doc)]
  }
}

const helpDocText = (doc: HelpDoc.HelpDoc): string => {
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return spanText(doc.value)
    case "Sequence":
      return [helpDocText(doc.left), helpDocText(doc.right)].filter((text) => text !== "").join("\n")
    case "Enumeration":
      return doc.elements.map(helpDocText).join("\n")
    case "DescriptionList":
      return doc.definitions.map(([term, description]) => `${spanText(term)}\n${helpDocText(description)}`).join("\n")
  }
}

const spanText = (span: Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** An SGR escape sequence, which takes no column. */
const styling = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

const columns = (text: string): number => text.replace(styling, "").length

/**
 * `line` broken at spaces into lines of at most `helpWidth` columns, the next ones indented like it plus `hanging`.
 * A word longer than a line stays whole.
 */
const wrap = (line: string, hanging: number): string => {
  if (columns(line) <= helpWidth) return line
  const lead = line.length - line.trimStart().length
  const indent = " ".repeat(lead === 0 ? hanging : lead + hanging)
  const [first = "", ...words] = line.trimStart().split(" ")
  const lines: Array<string> = []
  let current = `${" ".repeat(lead)}${first}`
  for (const word of words) {
    const candidate = `${current} ${word}`
    if (columns(candidate) <= helpWidth || current.trim() === "") {
      current = candidate
    } else {
      lines.push(current)
      current = `${indent}${word}`
    }
  }
  lines.push(current)
  return lines.join("\n")
}
