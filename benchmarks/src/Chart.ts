/**
 * The SVG chart of a run: records/s (committed, solid; accepted, dashed; the database ceiling of each row, dotted;
 * the synchronous baseline of each row, dash-dotted; the service storage code's ceilings, dotted lines) and accept
 * latency p99 (solid; job latency p99, dashed; the budget, dotted) by batch size, both on log axes. Self-contained
 * (no scripts, no fonts to fetch), so it reads the same in a browser, an image viewer or on GitHub.
 */
import { escapeXml, logScale, logTicks, short } from "@batchwrite/bench"
import type { Results, Row } from "./Results.js"

const width = 1000
const panelHeight = 340
const margin = { left: 84, right: 236, top: 56, bottom: 52 }
/** One color per backend and operation. */
const palette: Record<string, string> = {
  "sqlite append-batch": "#1f77b4",
  "sqlite upsert-batch": "#d62728",
  "sqlite single-record": "#2ca02c",
  "postgres append-batch": "#9467bd",
  "postgres upsert-batch": "#ff7f0e",
  "postgres single-record": "#8c564b"
}
const colorOf = (backend: string, operation: string) => palette[`${backend} ${operation}`] ?? "#555"

/** A panel's y range: powers of ten around every value. */
const range = (values: ReadonlyArray<number>): readonly [number, number] => {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0)
  if (positive.length === 0) return [1, 10]
  return [10 ** Math.floor(Math.log10(Math.min(...positive))), 10 ** Math.ceil(Math.log10(Math.max(...positive)))]
}

interface Series {
  readonly label: string
  readonly color: string
  readonly dashed: boolean
  /** A dash pattern other than the `dashed` one. */
  readonly dash?: string | undefined
  readonly points: ReadonlyArray<readonly [number, number]>
}

interface Reference {
  readonly label: string
  readonly color: string
  readonly value: number
}

const panel = (
  top: number,
  title: string,
  unit: string,
  sizes: ReadonlyArray<number>,
  series: ReadonlyArray<Series>,
  references: ReadonlyArray<Reference>
): string => {
  const x = logScale(Math.min(...sizes) / 1.5, Math.max(...sizes) * 1.5, margin.left, width - margin.right)
  const [yMin, yMax] = range([...series.flatMap((s) => s.points.map(([, v]) => v)), ...references.map((r) => r.value)])
  const bottom = top + panelHeight - margin.bottom
  const y = logScale(yMin, yMax, bottom, top + margin.top)
  const parts: Array<string> = [
    `<text x="${margin.left}" y="${top + 30}" class="title">${escapeXml(title)}</text>`,
    `<rect x="${margin.left}" y="${top + margin.top}" width="${width - margin.left - margin.right}" ` +
      `height="${bottom - top - margin.top}" fill="none" stroke="#999"/>`
  ]
  for (const tick of logTicks(yMin, yMax)) {
    const major = Number.isInteger(Math.log10(tick))
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" ` +
        `stroke="${major ? "#ccc" : "#eee"}"/>`,
      `<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end" class="tick">${short(tick)}</text>`
    )
  }
  for (const size of sizes) {
    parts.push(
      `<line x1="${x(size)}" x2="${x(size)}" y1="${top + margin.top}" y2="${bottom}" stroke="#eee"/>`,
      `<text x="${x(size)}" y="${bottom + 18}" text-anchor="middle" class="tick">${short(size)}</text>`
    )
  }
  parts.push(
    `<text x="${(margin.left + width - margin.right) / 2}" y="${bottom + 40}" text-anchor="middle" class="axis">` +
      "records per batch (log scale)</text>",
    `<text transform="translate(20 ${(top + margin.top + bottom) / 2}) rotate(-90)" text-anchor="middle" ` +
      `class="axis">${escapeXml(unit)} (log scale)</text>`
  )
  const placed: Array<number> = []
  for (const reference of [...references].sort((a, b) => b.value - a.value)) {
    // Labels of ceilings close to each other go side by side instead of on top of each other.
    const column = placed.filter((at) => Math.abs(at - y(reference.value)) < 15).length
    placed.push(y(reference.value))
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(reference.value)}" y2="${y(reference.value)}" ` +
        `stroke="${reference.color}" stroke-width="1.5" stroke-dasharray="2 4"/>`,
      `<text x="${margin.left + 8 + column * 300}" y="${y(reference.value) - 6}" class="reference" ` +
        `fill="${reference.color}">` +
        `${escapeXml(reference.label)}</text>`
    )
  }
  series.forEach((s, i) => {
    if (s.points.length === 0) return
    const path = s.points.map(
      ([size, value], j) => `${j === 0 ? "M" : "L"}${x(size).toFixed(1)},${y(value).toFixed(1)}`
    )
    const dasharray = s.dash ?? (s.dashed ? "7 5" : undefined)
    parts.push(
      `<path d="${path.join(" ")}" fill="none" stroke="${s.color}" stroke-width="2.5"` +
        `${dasharray === undefined ? "" : ` stroke-dasharray="${dasharray}"`}/>`,
      ...s.points.map(
        ([size, value]) =>
          `<circle cx="${x(size).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3.5" fill="${s.dashed ? "#fff" : s.color}" ` +
          `stroke="${s.color}" stroke-width="1.5"/>`
      )
    )
    // Legends step closer together when there are many series, so they stay beside their panel.
    const legendY = top + margin.top + 10 + i * Math.min(20, (bottom - top - margin.top - 10) / series.length)
    parts.push(
      `<line x1="${width - margin.right + 6}" x2="${width - margin.right + 30}" y1="${legendY}" y2="${legendY}" ` +
        `stroke="${s.color}" stroke-width="2.5"${dasharray === undefined ? "" : ` stroke-dasharray="${dasharray}"`}/>`,
      `<text x="${width - margin.right + 36}" y="${legendY + 4}" class="legend">${escapeXml(s.label)}</text>`
    )
  })
  return parts.join("\n")
}

/** The chart of a run as SVG text. */
export const renderChart = (results: Results, p99BudgetMs: number): string => {
  // A row with errors measured something else than the service working: it is in the table, not on the chart.
  const drawn = results.rows.filter((row) => row.errors === 0)
  const batchRows = drawn.filter((row) => row.operation !== "single-record")
  const sizes = Array.from(new Set(drawn.map((row) => row.batchSize))).sort((a, b) => a - b)
  const groups = new Map<string, Array<Row>>()
  for (const row of batchRows) {
    const key = `${row.backend} ${row.operation}`
    groups.set(key, [...(groups.get(key) ?? []), row])
  }
  const backends = new Set(batchRows.map((row) => row.backend))
  const name = (key: string) => (backends.size > 1 ? key : key.split(" ")[1]!).replace("-batch", "")
  const points = (rows: ReadonlyArray<Row>, value: (row: Row) => number | undefined) =>
    rows.map((row) => [row.batchSize, value(row) ?? Number.NaN] as const).filter(([, v]) => Number.isFinite(v) && v > 0)
  const throughput: Array<Series> = []
  const latency: Array<Series> = []
  for (const [key, rows] of groups) {
    const color = colorOf(rows[0]!.backend, rows[0]!.operation)
    throughput.push(
      { label: `${name(key)} committed`, color, dashed: false, points: points(rows, (r) => r.committedRecordsPerSec) },
      { label: `${name(key)} accepted`, color, dashed: true, points: points(rows, (r) => r.acceptedRecordsPerSec) },
      {
        label: `${name(key)} DB ceiling`,
        color,
        dashed: true,
        dash: "2 4",
        points: points(rows, (r) => r.databaseCeilingRecordsPerSec ?? undefined)
      },
      {
        label: `${name(key)} sync baseline`,
        color,
        dashed: true,
        dash: "10 3 2 3",
        points: points(rows, (r) => r.syncBaselineRecordsPerSec ?? undefined)
      }
    )
    latency.push(
      { label: `${name(key)} accept p99`, color, dashed: false, points: points(rows, (r) => r.latencyMs.p99) },
      { label: `${name(key)} job p99`, color, dashed: true, points: points(rows, (r) => r.jobLatencyMs?.p99) }
    )
  }
  for (const row of drawn.filter((r) => r.operation === "single-record")) {
    const label = `${backends.size > 1 ? `${row.backend} ` : ""}single-record`
    const color = colorOf(row.backend, row.operation)
    throughput.push({ label, color, dashed: false, points: [[1, row.committedRecordsPerSec]] })
    latency.push({ label: `${label} p99`, color, dashed: false, points: [[1, row.latencyMs.p99]] })
  }
  const storage = results.ceilings.storage.map((ceiling) => ({
    label:
      `${backends.size > 1 ? `${ceiling.backend} ` : ""}${ceiling.operation.replace("-batch", "")} storage code ceiling: ` +
      `${short(ceiling.recordsPerSec)} records/s`,
    color: colorOf(ceiling.backend, ceiling.operation),
    value: ceiling.recordsPerSec
  }))
  const budget = [{ label: `p99 budget ${p99BudgetMs} ms`, color: "#555", value: p99BudgetMs }]
  const machine = results.machine as { cpu?: string; cores?: number; node?: string }
  const subtitle =
    `${results.mode} run, ${results.generatedAt.slice(0, 16).replace("T", " ")} UTC, ` +
    `${machine.cores ?? "?"} × ${machine.cpu ?? "?"}, Node ${machine.node ?? "?"}` +
    (drawn.length < results.rows.length
      ? `; ${results.rows.length - drawn.length} row(s) with errors not drawn (see the table)`
      : "")
  const height = panelHeight * 2 + 40
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="Helvetica, Arial, sans-serif">',
    "<style>.title{font-size:17px;font-weight:bold}.tick{font-size:12px;fill:#444}.axis{font-size:13px;fill:#333}" +
      ".legend{font-size:12px;fill:#222}.sub{font-size:12px;fill:#666}" +
      ".reference{font-size:12px;paint-order:stroke;stroke:#fff;stroke-width:4px}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${margin.left}" y="${height - 12}" class="sub">${escapeXml(subtitle)}</text>`,
    panel(0, "batchwrite: records per second by batch size", "records/s", sizes, throughput, storage),
    panel(panelHeight, "batchwrite: latency p99 by batch size", "milliseconds", sizes, latency, budget),
    "</svg>",
    ""
  ].join("\n")
}
