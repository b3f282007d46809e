/**
 * Measuring a running batchwrite deployment over its public API: the server sweep (batch sizes × connections,
 * bounded rows, jobs read to the end), the client sweep (`write` and `RecordBuffer` over a grid of settings), the
 * recommendation for a p99 budget, and the report (table, `results.json`, SVG). `batchwrite bench` and
 * `pnpm bench --url …` run it with the same options.
 */

/** The options of the command line, their help, and the plan they make. */
export * from "./BenchOptions.js"

/** The plan of a run and its checks. */
export * from "./BenchPlan.js"

/** The shape of `results.json`. */
export type * from "./BenchResults.js"

/** Running a plan. */
export { BenchFailure, type RunOptions, type RunOutcome, runBench } from "./DeploymentBench.js"

/** The pieces of the SVG charts: escaping, short numbers, log scales and ticks. */
export * from "./Svg.js"
