/**
 * The request bodies of a run, built before the load starts so that generating them never competes with the
 * service for CPU: `events`-like records for append-batch and `profiles` records with unique emails for
 * upsert-batch (every upsert inserts a new row; no body is sent twice within a run, so no record is ever a duplicate).
 */

/** The operations the harness drives. */
export type Operation = "append-batch" | "upsert-batch" | "single-record"

/** A deterministic `events` record (the built-in object with no match keys), ~170 bytes. */
export const eventRecord = (i: number) => ({
  session_id: `s-${i % 977}`,
  event: i % 3 === 0 ? "page_view" : i % 3 === 1 ? "click" : "purchase",
  url: `https://example.com/p/${i % 101}?ref=${i % 7}`,
  occurred_at: `2026-04-${String((i % 28) + 1).padStart(2, "0")}T15:${String(i % 60).padStart(2, "0")}:00Z`,
  user_id: `u-${i % 4999}`,
  properties: { amount: (i % 1000) / 8, items: i % 5, tags: ["a", "b"] }
})

/** A `profiles` record whose match keys (`email`, `external_id`) are unique for each `(prefix, i)`, ~190 bytes. */
export const profileRecord = (prefix: string, i: number) => ({
  email: `${prefix}-${i}@example.com`,
  external_id: `${prefix}-${i}`,
  first_name: "Ann",
  last_name: "Lee",
  tier: i % 2 === 0 ? "gold" : "silver",
  last_seen_at: "2026-04-21T15:00:00Z",
  attributes: { plan: "pro", seats: i % 10 }
})

/** Where a body goes: the path under the origin. */
export const pathOf = (operation: Operation, objectName: string): string =>
  operation === "single-record" ? `/public/v1/records/${objectName}` : `/public/v1/records/${objectName}/${operation}`

/** The object each operation writes to. */
export const objectOf = (operation: Operation): string => (operation === "upsert-batch" ? "profiles" : "events")

/**
 * `count` distinct bodies of `batchSize` records for `operation`; `tag` makes upsert keys unique across the
 * rows, warm-ups and ceilings of one run.
 */
export const makeBodies = (operation: Operation, batchSize: number, count: number, tag: string): Array<Buffer> => {
  const bodies: Array<Buffer> = []
  for (let body = 0; body < count; body++) {
    const first = body * batchSize
    if (operation === "single-record") {
      bodies.push(Buffer.from(JSON.stringify(eventRecord(first))))
      continue
    }
    const records: Array<unknown> = new Array(batchSize)
    for (let i = 0; i < batchSize; i++) {
      records[i] = operation === "upsert-batch" ? profileRecord(tag, first + i) : eventRecord(first + i)
    }
    bodies.push(
      Buffer.from(JSON.stringify(operation === "upsert-batch" ? { records, matchKey: "email" } : { records }))
    )
  }
  return bodies
}
