/**
 * The SVG chart of a deployment benchmark: committed records/s (top) and accept latency p99 (bottom, with the
 * budget dotted) by batch size, one line per operation and connection count, both axes logarithmic. Self-contained
 * (no scripts, no fonts to fetch). Rows with errors are left out of the lines (they are in the table).
 */
import type { BenchResults, ServerRow } from "./BenchResults.js"
import { escapeXml, logScale, logTicks, short } from "./Svg.js"

const width = 960
const panelHeight = 320
const margin = { left: 80, right: 220, top: 50, bottom: 50 }
const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]

interface Series {
  readonly label: string
  readonly color: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

const panel = (
  top: number,
  title: string,
  unit: string,
  sizes: ReadonlyArray<number>,
  series: ReadonlyArray<Series>,
  reference: { readonly label: string; readonly value: number } | undefined
): string => {
  const x = logScale(Math.min(...sizes) / 1.5, Math.max(...sizes) * 1.5, margin.left, width - margin.right)
  const values = [...series.flatMap((s) => s.points.map(([, v]) => v)), ...(reference ? [reference.value] : [])].filter(
    (v) => v > 0
  )
  const yMin = values.length === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.min(...values)))
  const yMax = values.length === 0 ? 10 : 10 ** Math.ceil(Math.log10(Math.max(...values)) + 1e-9)
  const bottom = top + panelHeight - margin.bottom
  const y = logScale(yMin, yMax, bottom, top + margin.top)
  const parts = [
    `<text x="${margin.left}" y="${top + 30}" class="title">${escapeXml(title)}</text>`,
    `<rect x="${margin.left}" y="${top + margin.top}" width="${width - margin.left - margin.right}" height="${bottom - top - margin.top}" fill="none" stroke="#999"/>`
  ]
  for (const tick of logTicks(yMin, yMax)) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`,
      `<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end" class="tick">${short(tick)}</text>`
    )
  }
  for (const size of sizes) {
    parts.push(`<text x="${x(size)}" y="${bottom + 18}" text-anchor="middle" class="tick">${short(size)}</text>`)
  }
  parts.push(
    `<text x="${(margin.left + width - margin.right) / 2}" y="${bottom + 40}" text-anchor="middle" class="axis">records per batch (log scale)</text>`,
    `<text transform="translate(20 ${(top + margin.top + bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeXml(unit)} (log scale)</text>`
  )
  if (reference !== undefined) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(reference.value)}" y2="${y(reference.value)}" stroke="#555" stroke-dasharray="2 4"/>`,
      `<text x="${margin.left + 8}" y="${y(reference.value) - 6}" class="tick">${escapeXml(reference.label)}</text>`
    )
  }
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const path = s.points.map(([size, v], j) => `${j === 0 ? "M" : "L"}${x(size).toFixed(1)},${y(v).toFixed(1)}`)
      parts.push(
        `<path d="${path.join(" ")}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`,
        ...s.points.map(
          ([size, v]) => `<circle cx="${x(size).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${s.color}"/>`
        )
      )
    }
    const legendY = top + margin.top + 10 + i * 20
    parts.push(
      `<line x1="${width - margin.right + 8}" x2="${width - margin.right + 32}" y1="${legendY}" y2="${legendY}" stroke="${s.color}" stroke-width="2.5"/>`,
      `<text x="${width - margin.right + 38}" y="${legendY + 4}" class="legend">${escapeXml(s.label)}</text>`
    )
  })
  return parts.join("\n")
}

/** The chart of a run as SVG text. */
export const renderChart = (results: BenchResults): string => {
  const drawn = results.rows.filter((row) => row.errors === 0)
  const sizes = Array.from(new Set(results.rows.map((row) => row.batchSize))).sort((a, b) => a - b)
  const groups = new Map<string, Array<ServerRow>>()
  for (const row of drawn) {
    const key = `${row.operation.replace("-batch", "")}, ${row.connections} conn${row.connections === 1 ? "" : "s"}`
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const series = (value: (row: ServerRow) => number | null) =>
    Array.from(groups, ([label, rows], i) => ({
      label,
      color: colors[i % colors.length]!,
      points: rows
        .map((row) => [row.batchSize, value(row) ?? Number.NaN] as const)
        .filter(([, v]) => Number.isFinite(v) && v > 0)
    }))
  const height = panelHeight * 2 + 40
  const subtitle = `${results.url}, ${results.generatedAt.slice(0, 16).replace("T", " ")} UTC, object ${results.written.objectName}`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    "<style>.title{font-size:17px;font-weight:bold}.tick{font-size:12px;fill:#444}.axis{font-size:13px;fill:#333}.legend{font-size:12px;fill:#222}.sub{font-size:12px;fill:#666}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${margin.left}" y="${height - 12}" class="sub">${escapeXml(subtitle)}</text>`,
    sizes.length === 0
      ? ""
      : panel(
          0,
          "records committed per second by batch size",
          "records/s",
          sizes,
          series((row) => row.committedRecordsPerSec),
          undefined
        ),
    sizes.length === 0
      ? ""
      : panel(
          panelHeight,
          "accept latency p99 by batch size",
          "milliseconds",
          sizes,
          series((row) => row.latencyMs.p99),
          { label: `p99 budget ${results.plan.p99BudgetMs} ms`, value: results.plan.p99BudgetMs }
        ),
    "</svg>",
    ""
  ].join("\n")
}
