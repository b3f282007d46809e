/**
 * Batches for the process tests, sent over plain HTTP the way a client does, and the checks on what the service
 * stored: every appended record exactly once (by a unique `session_id`), every profile equal to applying the
 * upserts one by one in `sequence` order (SPEC §1.4).
 */
import { assert } from "@effect/vitest"
import type { ServeProcess } from "../support/ServeProcess.js"

export const NOW = "2026-04-21T15:00:00Z"

export type Row = Record<string, unknown>

/** A batch with its deterministic `Idempotency-Key`. */
export interface Batch {
  readonly operation: "append-batch" | "upsert-batch"
  readonly object: "events" | "profiles"
  readonly key: string
  readonly records: ReadonlyArray<Row>
  readonly body: string
}

/** `size` events, each with the unique `session_id` `<prefix>-<index>-<i>`. */
export const appendBatch = (prefix: string, index: number, size: number, pad = 0): Batch => {
  const records = Array.from({ length: size }, (_, i) => ({
    session_id: `${prefix}-${index}-${i}`,
    event: pad > 0 ? "x".repeat(pad) : "page_view",
    occurred_at: NOW,
    user_id: `u${i % 17}`,
    properties: { batch: index, i }
  }))
  return {
    operation: "append-batch",
    object: "events",
    key: `${prefix}-append-${index}`,
    records,
    body: JSON.stringify({ records })
  }
}

/**
 * `size` partial profile updates over a pool of `emails` addresses (overlapping across and inside batches): each
 * sets `tier`, and some set or null other fields, so the merged rows depend on the order of application. `pad`
 * makes every record carry that many more bytes in `attributes`.
 */
export const upsertBatch = (prefix: string, index: number, size: number, emails: number, pad = 0): Batch => {
  const records = Array.from({ length: size }, (_, i) => {
    const n = (index * 7 + i * 13) % emails
    const record: Row = { email: `p${n}@${prefix}.example`, tier: `b${index}r${i}` }
    if ((index + i) % 3 === 0) record.first_name = `F${index}-${i}`
    if ((index + i) % 5 === 0) record.last_name = (index + i) % 2 === 0 ? null : `L${index}`
    if ((index * i) % 7 === 1) record.attributes = { score: index * 1000 + i, tags: [index, i] }
    if (pad > 0) record.attributes = { pad: "z".repeat(pad), i }
    if (i % 11 === 4) record.last_seen_at = `2026-04-${String(1 + (index % 28)).padStart(2, "0")}T10:00:00Z`
    return record
  })
  return {
    operation: "upsert-batch",
    object: "profiles",
    key: `${prefix}-upsert-${index}`,
    records,
    body: JSON.stringify({ records, matchKey: "email" })
  }
}

/** What one POST of a batch answered. */
export interface Answer {
  readonly status: number
  readonly text: string
  readonly replayed: boolean
  readonly jobId: string | undefined
}

/** POSTs a batch with its key (one try: a network error rejects). */
export const postBatch = async (server: ServeProcess, batch: Batch, headers: Record<string, string> = {}) => {
  const response = await server.fetch(`/public/v1/records/${batch.object}/${batch.operation}`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": batch.key, ...headers },
    body: batch.body,
    signal: AbortSignal.timeout(30_000)
  })
  const text = await response.text()
  const jobId = response.status === 202 || response.status === 200 ? JSON.parse(text).data.jobId : undefined
  return {
    status: response.status,
    text,
    replayed: response.headers.get("idempotent-replayed") === "true",
    jobId
  } satisfies Answer
}

/**
 * POSTs a batch, retrying network errors (a connection of the previous process, a restart) a few times, and a
 * `409` (its key still in progress: on PostgreSQL, a key of a killed process until its lease runs out) after its
 * `Retry-After`, for up to 10 s.
 */
export const postBatchRetrying = async (server: ServeProcess, batch: Batch): Promise<Answer> => {
  let lastError: unknown
  let networkErrors = 0
  const deadline = Date.now() + 10_000
  while (true) {
    try {
      const answer = await postBatch(server, batch)
      if (answer.status !== 409 || Date.now() > deadline) return answer
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    } catch (error) {
      lastError = error
      if (++networkErrors >= 5) throw lastError
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/** A job as `GET …/jobs/{jobId}` returns it. */
export interface Job {
  readonly jobId: string
  readonly sequence: number
  readonly state: string
  readonly completedAt: string | null
  readonly metrics: {
    readonly totalRows: number
    readonly insertedRows: number
    readonly updatedRows: number
    readonly staleRows: number
    readonly invalidRows: number
  }
  readonly failure?: unknown
}

/** Waits (long-polling with `Prefer: wait`) until the job is terminal or `deadline` (epoch ms) passes. */
export const awaitJob = async (server: ServeProcess, object: string, jobId: string, deadline: number) => {
  while (true) {
    const wait = Math.max(1, Math.min(10, Math.ceil((deadline - Date.now()) / 1000)))
    const response = await server.fetch(`/public/v1/records/${object}/jobs/${jobId}`, {
      headers: { prefer: `wait=${wait}` }
    })
    const text = await response.text()
    assert.strictEqual(response.status, 200, `GET job ${jobId}: ${text}`)
    const job = JSON.parse(text).data as Job
    if (job.state === "completed" || job.state === "failed" || Date.now() > deadline) return job
  }
}

/** Every stored row of an object, read as NDJSON. */
export const readAllRows = async (server: ServeProcess, object: string): Promise<Array<Row>> => {
  const response = await server.fetch(`/public/v1/records/${object}`, {
    headers: { accept: "application/x-ndjson" }
  })
  const text = await response.text()
  assert.strictEqual(response.status, 200, text.slice(0, 500))
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Row)
}

/** Asserts that each appended record is stored exactly once, and nothing else is. */
export const assertAppendedOnce = (rows: ReadonlyArray<Row>, batches: ReadonlyArray<Batch>) => {
  const counts = new Map<string, number>()
  for (const row of rows) counts.set(String(row.session_id), (counts.get(String(row.session_id)) ?? 0) + 1)
  const expected = batches.filter((b) => b.operation === "append-batch").flatMap((b) => b.records)
  const missing = expected.filter((record) => !counts.has(String(record.session_id)))
  const doubled = [...counts].filter(([, count]) => count > 1)
  assert.deepStrictEqual(
    { missing: missing.length, doubled: doubled.length },
    { missing: 0, doubled: 0 },
    `missing e.g. ${JSON.stringify(missing.slice(0, 3).map((r) => r.session_id))}, doubled e.g. ${JSON.stringify(doubled.slice(0, 3))}`
  )
  assert.strictEqual(rows.length, expected.length, "stored rows beyond the appended records")
}

const profileFields = ["email", "external_id", "first_name", "last_name", "tier", "last_seen_at", "attributes"]

/** Asserts that the stored profiles equal applying every upsert record one by one in `sequence` order. */
export const assertProfilesMerged = (
  rows: ReadonlyArray<Row>,
  upserts: ReadonlyArray<{ readonly batch: Batch; readonly sequence: number }>
) => {
  const expected = new Map<string, Row>()
  for (const { batch } of [...upserts].sort((a, b) => a.sequence - b.sequence)) {
    for (const record of batch.records) {
      const email = String(record.email)
      expected.set(email, { ...(expected.get(email) ?? {}), ...record })
    }
  }
  assert.strictEqual(rows.length, expected.size, "one stored row per email")
  const wrong: Array<string> = []
  for (const row of rows) {
    const want = expected.get(String(row.email))
    if (want === undefined) {
      wrong.push(`unexpected row ${JSON.stringify(row)}`)
      continue
    }
    for (const field of profileFields) {
      const got = JSON.stringify(row[field] ?? null)
      const exp = JSON.stringify(want[field] ?? null)
      if (got !== exp) wrong.push(`${String(row.email)}.${field}: stored ${got}, expected ${exp}`)
    }
  }
  assert.deepStrictEqual(wrong.slice(0, 10), [], `${wrong.length} fields differ from last-write-wins by sequence`)
}
