import { assert, describe, it } from "@effect/vitest"
import { keepsGrowing, slope, trendOf } from "../src/Trend.js"

const series = (f: (t: number) => number, seconds = 600, every = 5) =>
  Array.from({ length: seconds / every + 1 }, (_, i) => ({ t: i * every, value: f(i * every) }))

describe("Trend", () => {
  it("the slope of a line is its slope", () => {
    assert.closeTo(slope(series((t) => 3 * t + 7)), 3, 1e-9)
  })

  it("a plateau after warm-up does not keep growing; a leak does", () => {
    const tolerance = { absolute: 32, relative: 0.1 }
    // Fast growth in the first minutes, then flat with noise.
    const plateau = series((t) => Math.min(400, 150 + t) + ((t * 7919) % 13) - 6)
    assert.isFalse(keepsGrowing(trendOf(plateau), tolerance))
    // 0.2 units a second all along: 60 units over the second half, 12 % of a mean near 500.
    const leak = series((t) => 400 + 0.2 * t)
    assert.isTrue(keepsGrowing(trendOf(leak), tolerance))
  })

  it("growth under either tolerance is not growth", () => {
    const small = series((t) => 10 + 0.01 * t)
    assert.isFalse(keepsGrowing(trendOf(small), { absolute: 5, relative: 0.01 }))
  })
})
