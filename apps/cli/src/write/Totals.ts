/**
 * The counts of a write, as its summary shows them and its checkpoint keeps them.
 */
import type { WriteSummary } from "@batchwrite/client"
import { Schema } from "effect"

/** The counts of a write, as the summary shows them. */
export const Totals = Schema.Struct({
  batches: Schema.Number,
  accepted: Schema.Number,
  inserted: Schema.Number,
  updated: Schema.Number,
  stale: Schema.Number,
  invalid: Schema.Number,
  deadLettered: Schema.Number
})

/** The counts of a write. */
export type Totals = typeof Totals.Type

/** The names of the counts, from the schema: the one list of them. */
const names = Object.keys(Totals.fields) as ReadonlyArray<keyof Totals>

/** A count for each name. */
const countEach = (count: (name: keyof Totals) => number): Totals =>
  Object.fromEntries(names.map((name) => [name, count(name)])) as unknown as Totals

/** Nothing counted yet. */
export const noTotals: Totals = countEach(() => 0)

/** Adds two counts. */
export const addTotals = (a: Totals, b: Totals): Totals => countEach((name) => a[name] + b[name])

/** The counts of a summary, without its rows. */
export const totalsOf = (summary: WriteSummary<unknown>): Totals => countEach((name) => summary[name])
