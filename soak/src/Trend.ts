/**
 * Whether a sampled quantity keeps growing: the slope of a least-squares line through the samples of the second half
 * of a run (the first half is warm-up: caches, pools and the heap find their size), and how much that slope adds over
 * the second half, against a tolerance in the quantity's own units and as a share of its mean.
 */

/** One sample: seconds since the start, and the value. */
export interface Point {
  readonly t: number
  readonly value: number
}

/** What {@link trendOf} found. */
export interface Trend {
  /** Units per minute. */
  readonly slopePerMinute: number
  /** What the slope adds over the second half's span. */
  readonly growth: number
  readonly mean: number
  readonly first: number
  readonly last: number
  readonly samples: number
}

/** The least-squares slope (units per second) of `points`; 0 with fewer than two distinct times. */
export const slope = (points: ReadonlyArray<Point>): number => {
  const n = points.length
  if (n < 2) return 0
  const meanT = points.reduce((sum, p) => sum + p.t, 0) / n
  const meanV = points.reduce((sum, p) => sum + p.value, 0) / n
  let covariance = 0
  let variance = 0
  for (const p of points) {
    covariance += (p.t - meanT) * (p.value - meanV)
    variance += (p.t - meanT) ** 2
  }
  return variance === 0 ? 0 : covariance / variance
}

/** The trend of the second half of `points` (by time). */
export const trendOf = (points: ReadonlyArray<Point>): Trend => {
  const start = points[0]?.t ?? 0
  const end = points[points.length - 1]?.t ?? 0
  const half = points.filter((p) => p.t >= start + (end - start) / 2)
  const perSecond = slope(half)
  const span = (half[half.length - 1]?.t ?? 0) - (half[0]?.t ?? 0)
  const mean = half.length === 0 ? 0 : half.reduce((sum, p) => sum + p.value, 0) / half.length
  return {
    slopePerMinute: perSecond * 60,
    growth: perSecond * span,
    mean,
    first: half[0]?.value ?? 0,
    last: half[half.length - 1]?.value ?? 0,
    samples: half.length
  }
}

/** How much growth over the second half is tolerated: both bounds must be passed for it to count as growing. */
export interface Tolerance {
  /** In the quantity's units. */
  readonly absolute: number
  /** As a share of the second half's mean. */
  readonly relative: number
}

/** Whether the trend grows beyond the tolerance. */
export const keepsGrowing = (trend: Trend, tolerance: Tolerance): boolean =>
  trend.growth > tolerance.absolute && trend.growth > tolerance.relative * trend.mean
