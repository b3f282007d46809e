#!/usr/bin/env node
// The README tour's events file: `node examples/events.mjs > events.ndjson` prints 120,000 page-view events as
// NDJSON (or as many as the first argument says). Nine of them leave out the required field "event" (eight in the
// first 10,000 and one after), so the tour shows rejected rows, dead letters and a replay.
const count = Number(process.argv[2] ?? 120_000)
const invalid = new Set([7, 1_007, 2_007, 3_007, 4_007, 5_007, 6_007, 7_007, 100_007])
const lines = []
for (let i = 0; i < count; i++) {
  const record = {
    ...(invalid.has(i) ? {} : { event: i % 10 === 0 ? "signup" : "page_view" }),
    occurred_at: "2026-04-21T15:00:00Z",
    user_id: `u-${i}`,
    url: `https://example.com/p/${i}`
  }
  lines.push(JSON.stringify(record))
  if (lines.length === 10_000) process.stdout.write(`${lines.splice(0).join("\n")}\n`)
}
if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`)
