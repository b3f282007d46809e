/**
 * Committed records/s of `batchwrite serve` on PostgreSQL with one and with three nodes, for appends and upserts
 * of 1,000 and 10,000 records per batch: `pnpm exec vitest bench --run test/process/Nodes.bench.ts` (needs the built
 * CLI and a PostgreSQL). Eight clients send the batches round-robin over the nodes; the clock runs from the first
 * request to the moment no job is queued or processing. Upserts of one object apply one after another in
 * acceptance order (SPEC §1.4), so more nodes do not speed them up; appends run in parallel.
 */
import { afterAll, bench, describe } from "vitest"
import { postgresAvailable, createDatabase, query } from "../support/Postgres.js"
import { ServeProcess } from "../support/ServeProcess.js"
import { appendBatch, type Batch, postBatch, upsertBatch } from "./Workload.js"

const results: Array<string> = []

const run = async (nodeCount: number, operation: "append" | "upsert", batchSize: number) => {
  const database = await createDatabase()
  const token = `bench-token-${Math.random().toString(36).slice(2)}`
  const nodes = await Promise.all(
    Array.from({ length: nodeCount }, () =>
      ServeProcess.start({ database: database.url, token, workers: 2, args: ["--pool-size", "6"] })
    )
  )
  try {
    const total = batchSize === 1_000 ? 60_000 : 100_000
    const batches: Array<Batch> = Array.from({ length: total / batchSize }, (_, index) =>
      operation === "append"
        ? appendBatch(`b${nodeCount}`, index, batchSize)
        : upsertBatch(`b${nodeCount}`, index, batchSize, 50_000)
    )
    const started = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const index = next++
          const answer = await postBatch(nodes[index % nodes.length]!, batches[index]!)
          if (answer.status !== 202) throw new Error(`batch ${index}: ${answer.status} ${answer.text.slice(0, 200)}`)
        }
      })
    )
    const accepted = performance.now()
    while (true) {
      const [row] = await query<{ readonly n: string }>(
        database.url,
        "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'processing')"
      )
      if (Number(row!.n) === 0) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const done = performance.now()
    results.push(
      `postgres, ${nodeCount} node(s), ${operation} ${batchSize.toLocaleString("en")}/batch: ${total.toLocaleString("en")} records accepted in ${Math.round(accepted - started)} ms, committed in ${Math.round(done - started)} ms = ${Math.round((total / (done - started)) * 1000).toLocaleString("en")} records/s`
    )
  } finally {
    await Promise.all(nodes.map((node) => node.dispose()))
    await database.drop()
  }
}

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 }

describe.skipIf(!postgresAvailable)("committed records/s on PostgreSQL", () => {
  for (const nodeCount of [1, 3]) {
    for (const operation of ["append", "upsert"] as const) {
      for (const batchSize of [1_000, 10_000]) {
        bench(
          `${nodeCount} node(s), ${operation}, ${batchSize}/batch`,
          () => run(nodeCount, operation, batchSize),
          once
        )
      }
    }
  }
})

afterAll(() => {
  for (const line of results) process.stdout.write(`${line}\n`)
})
