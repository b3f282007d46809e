/**
 * The small pieces both benchmark charts (this package's deployment chart, and the local run's chart in
 * `benchmarks/`) draw with: text escaping, short numbers, log scales and their 1-2-5 ticks.
 */

/** Text as SVG/XML character data. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** A number in a few characters: `1.5k`, `2M`, `0.25`. */
export const short = (n: number): string =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toPrecision(3)}`

/** A log scale from `[min, max]` onto `[from, to]` pixels (values under `min` sit at `from`). */
export const logScale = (min: number, max: number, from: number, to: number) => {
  const lo = Math.log10(min)
  const hi = Math.log10(max)
  return (value: number): number => from + ((Math.log10(Math.max(value, min)) - lo) / (hi - lo || 1)) * (to - from)
}

/** 1-2-5 ticks covering `[min, max]`. */
export const logTicks = (min: number, max: number): Array<number> => {
  const out: Array<number> = []
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max; decade *= 10) {
    for (const step of [1, 2, 5]) if (decade * step >= min && decade * step <= max) out.push(decade * step)
  }
  return out
}
