/**
 * The request bodies of a run, built before the load starts so that generating them never competes with the
 * service for CPU: `events`-like records for append-batch and `profiles` records for upsert-batch. Upserts merge:
 * by default about half the records of each batch (after a row's first) update a key written by an earlier batch
 * of the same row (picked at random, so some keys are updated several times across batches), and two thirds of those
 * updates are partial (fields left out, which keep their stored value); the other records insert new keys. No key
 * appears twice within one batch, and the keys of each `tag` are new to the service, so every record commits
 * exactly once (inserted or updated) and the same records can be replayed into a fresh table by the ceilings.
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
 * An update of the `profiles` record of key `key` (the same `email` and `external_id`), as the `n`-th record of a
 * row: full (new values for every field) or partial (only a few fields besides the match key).
 */
export const profileUpdate = (prefix: string, key: number, n: number) => {
  const email = `${prefix}-${key}@example.com`
  switch (n % 3) {
    case 0:
      return { email, tier: n % 2 === 0 ? "platinum" : "bronze", last_seen_at: "2026-05-01T09:30:00Z" }
    case 1:
      return { email, first_name: "Anna", attributes: { plan: "team", seats: n % 50 } }
    default:
      return {
        ...profileRecord(prefix, key),
        first_name: "Annie",
        last_name: null,
        tier: "gold",
        last_seen_at: "2026-05-02T10:00:00Z"
      }
  }
}

/** A deterministic pseudo-random number in [0, 1) for the `n`-th record (a hash, so bodies are reproducible). */
const unit = (n: number): number => {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32
}

/** How the bodies of a row are made. */
export interface BodyOptions {
  /** The share of upsert records (after a row's first batch) that update a key of an earlier batch. Default 0.5. */
  readonly updateShare?: number | undefined
}

/**
 * `count` distinct bodies of `batchSize` records for `operation`; `tag` makes upsert keys unique across the
 * rows, warm-ups and ceilings of one run. Upserts merge as the module comment says.
 */
export const makeBodies = (
  operation: Operation,
  batchSize: number,
  count: number,
  tag: string,
  options: BodyOptions = {}
): Array<Buffer> => {
  const updateShare = options.updateShare ?? 0.5
  const bodies: Array<Buffer> = []
  /** Keys inserted by the batches before the current one. */
  let written = 0
  for (let body = 0; body < count; body++) {
    const first = body * batchSize
    if (operation === "single-record") {
      bodies.push(Buffer.from(JSON.stringify(eventRecord(first))))
      continue
    }
    const records: Array<unknown> = new Array(batchSize)
    if (operation === "append-batch") {
      for (let i = 0; i < batchSize; i++) records[i] = eventRecord(first + i)
      bodies.push(Buffer.from(JSON.stringify({ records })))
      continue
    }
    const updated = new Set<number>()
    let inserted = 0
    for (let i = 0; i < batchSize; i++) {
      const n = first + i
      if (written > updated.size && unit(n) < updateShare) {
        let key = Math.floor(unit(n + 0x5bd1e995) * written)
        while (updated.has(key)) key = (key + 1) % written
        updated.add(key)
        records[i] = profileUpdate(tag, key, n)
      } else {
        records[i] = profileRecord(tag, written + inserted++)
      }
    }
    written += inserted
    bodies.push(Buffer.from(JSON.stringify({ records, matchKey: "email" })))
  }
  return bodies
}
