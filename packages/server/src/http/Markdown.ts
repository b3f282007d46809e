/**
 * The Markdown of the API's descriptions as HTML, for `/docs`: the subset the contract writes (paragraphs, `## `
 * headings, `- ` lists whose items may run over several lines, `` `code` `` and `**strong**`), everything else
 * escaped as text.
 */

/** Text as HTML text. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** One line of Markdown as HTML: code spans, then `**strong**` outside them. */
export const inlineHtml = (text: string): string =>
  text
    .split("`")
    .map((part, i) =>
      i % 2 === 1
        ? `<code>${escapeHtml(part)}</code>`
        : escapeHtml(part).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    )
    .join("")

/** A heading's anchor: its words in lower case joined by `-`. */
export const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")

const listItems = (lines: ReadonlyArray<string>): Array<string> =>
  lines.reduce<Array<string>>((items, line) => {
    if (line.startsWith("- ")) items.push(line.slice(2))
    else items[items.length - 1] = `${items[items.length - 1]} ${line.trim()}`
    return items
  }, [])

const blockHtml = (block: string): string => {
  const lines = block.split("\n")
  if (block.startsWith("## ")) {
    const title = block.slice(3).trim()
    return `<h2 id="${slug(title)}">${inlineHtml(title)}</h2>`
  }
  if (lines[0]!.startsWith("- ")) {
    return `<ul>${listItems(lines)
      .map((item) => `<li>${inlineHtml(item)}</li>`)
      .join("")}</ul>`
  }
  return `<p>${inlineHtml(lines.map((line) => line.trim()).join(" "))}</p>`
}

/** Markdown (blocks separated by blank lines) as HTML. */
export const markdownHtml = (markdown: string): string =>
  markdown
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter((block) => block !== "")
    .map(blockHtml)
    .join("\n")

/** The `## ` headings of Markdown, in order. */
export const markdownHeadings = (markdown: string): Array<string> =>
  [...markdown.matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim())
