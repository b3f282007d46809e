/**
 * Micro-benchmarks of the pure core, in records per second on one core: idempotency keys (canonical JSON + md5),
 * reading a body (`ExactJson.parse`), the lossless JSON reader, record validation and batching, each beside
 * `JSON.stringify`/`JSON.parse` of the same records as the baseline of the same run.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks micro` (add `-- --records 200000` to change the size).
 */
import { Batching, ExactJson, Keys, LosslessJson, ObjectSchema, RecordValidation } from "@batchwrite/core"
import { Either } from "effect"

const argument = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}

const recordCount = argument("records", 100_000)
const batchSize = argument("batch-size", 1_000)

/** Deterministic events-like records (the default `events` object), ~170 bytes each, some non-ASCII. */
const makeEvent = (i: number) => ({
  session_id: `s-${i % 977}`,
  event: i % 3 === 0 ? "page_view" : i % 3 === 1 ? "click" : "purchase_é",
  url: `https://example.com/p/${i % 101}?ref=${i % 7}`,
  occurred_at: `2026-04-${String((i % 28) + 1).padStart(2, "0")}T15:${String(i % 60).padStart(2, "0")}:00Z`,
  user_id: `u-${i % 4999}`,
  properties: { amount: (i % 1000) / 7, items: i % 5, tags: ["a", "b"] }
})

const records = Array.from({ length: recordCount }, (_, i) => makeEvent(i))
const batches: Array<Array<ReturnType<typeof makeEvent>>> = []
for (let i = 0; i < records.length; i += batchSize) batches.push(records.slice(i, i + batchSize))
const batchTexts = batches.map((batch) => JSON.stringify(batch))
// The same batches with whole amounts: no number of 16 digits, as in most bodies, so `ExactJson.parse` only screens.
const wholeTexts = batches.map((batch) =>
  JSON.stringify(
    batch.map((record) => ({
      ...record,
      properties: { ...record.properties, amount: Math.round(record.properties.amount) }
    }))
  )
)

/** Best of `rounds` runs of `run`, in records per second. */
const measure = (run: () => void, rounds = 5): number => {
  run() // warm-up
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint()
    run()
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9)
  }
  return recordCount / best
}

let sink: unknown
/** Applies `f` to every item, keeping the last result so the work cannot be optimized away. */
const each =
  <A>(items: ReadonlyArray<A>, f: (item: A, index: number) => unknown) =>
  () => {
    for (let i = 0; i < items.length; i++) sink = f(items[i]!, i)
  }
const validator = RecordValidation.compileValidator(ObjectSchema.eventsObject)

const results: Array<readonly [string, number]> = [
  ["JSON.stringify (baseline)", measure(each(batches, (batch) => JSON.stringify(batch)))],
  ["JSON.parse (baseline)", measure(each(batchTexts, (text) => JSON.parse(text)))],
  ["Keys.batchIdempotencyKey", measure(each(batches, (batch) => Keys.batchIdempotencyKey(batch)))],
  ["ExactJson.parse (how bodies are read)", measure(each(batchTexts, (text) => ExactJson.parse(text)))],
  ["ExactJson.parse, no long decimals", measure(each(wholeTexts, (text) => ExactJson.parse(text)))],
  ["LosslessJson.parse", measure(each(batchTexts, (text) => Either.getOrThrow(LosslessJson.parse(text))))],
  ["RecordValidation (events)", measure(each(records, (record, i) => validator(record, i)))],
  [
    "RecordValidation.findUnknownFields",
    measure(each(batches, (batch) => RecordValidation.findUnknownFields(ObjectSchema.eventsObject, batch)))
  ],
  ["Batching.split (10,000 / 10 MB)", measure(() => (sink = Array.from(Batching.split(records))))]
]
void sink

const baseline = results[0]![1]
console.log(
  `micro-benchmarks: ${recordCount.toLocaleString("en")} events-like records, batches of ${batchSize}, ${process.version}`
)
console.log(`${"what".padEnd(38)}${"records/s".padStart(14)}${"× JSON.stringify".padStart(20)}`)
for (const [name, perSecond] of results) {
  console.log(
    `${name.padEnd(38)}${Math.round(perSecond).toLocaleString("en").padStart(14)}${(perSecond / baseline).toFixed(2).padStart(20)}`
  )
}
