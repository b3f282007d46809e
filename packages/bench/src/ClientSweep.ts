/**
 * The client sweep: the same records sent through the toolkit, as an application would, for each cell of a grid
 * of settings. `write` gets the records of the cell as one lazy input (`maxRecords`, `concurrency`) and returns
 * when every job is done; a `RecordBuffer` (`maxRecords`, `concurrency`, `maxAge`) is offered the records one by one
 * (its capacity a group more than it flushes at once, so offers wait as a queue consumer's would) and closed. A cell
 * reports records/s end to end (first record handed over → every job done, or the buffer closed)
 * and the accept latency of the tool's batch requests, measured on the `HttpClient` under `RecordsClient`. The
 * client's own retry honours `429` and `Retry-After`; every `429` is counted.
 */
import { DeadLetter, pollPolicy, RecordBuffer, RecordsClient, retryPolicy, writeMode } from "@batchwrite/client"
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Duration, Effect, Layer } from "effect"
import type { BatchOperation } from "./BenchPlan.js"
import type { RecordMaker } from "./BenchRecords.js"
import { type ClientCell, percentilesOf } from "./BenchResults.js"

/** One cell of the grid. */
export interface CellSettings {
  readonly tool: "write" | "RecordBuffer"
  readonly operation: BatchOperation
  readonly maxRecords: number
  readonly concurrency: number
  readonly maxAgeMs: number | null
}

/** Where and how long a cell writes. */
export interface CellTarget {
  readonly baseUrl: string
  readonly token: string
  readonly objectName: string
  /** The match key of upserts. */
  readonly matchKey: string | undefined
  readonly makeRecord: RecordMaker
  /** Makes the cell's match-key values unique. */
  readonly tag: string
  readonly durationMs: number
  /** Most records the cell hands over. */
  readonly records: number
}

/** What the measuring `HttpClient` saw. */
interface Seen {
  readonly latenciesMs: Array<number>
  batchRequests: number
  rateLimited: number
}

const isBatchPost = (method: string, url: string) => method === "POST" && /\/(append|upsert)-batch$/.test(url)

/** The fetch `HttpClient`, timing every batch request and counting every `429`. */
const measuringHttpClient = (seen: Seen) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (effect, request) =>
        Effect.suspend(() => {
          const sentAt = performance.now()
          return Effect.tap(effect, (response) =>
            Effect.sync(() => {
              if (response.status === 429) seen.rateLimited++
              if (isBatchPost(request.method, request.url)) {
                seen.batchRequests++
                if (response.status >= 200 && response.status < 300) seen.latenciesMs.push(performance.now() - sentAt)
              }
            })
          )
        })
      )
    )
  ).pipe(Layer.provide(FetchHttpClient.layer))

/** The records of a cell: made as they are read, until the cell's records or time are used up. */
function* cellRecords(target: CellTarget, deadline: number) {
  for (let i = 0; i < target.records && performance.now() < deadline; i++) yield target.makeRecord(target.tag, i)
}

/** Runs one cell. */
export const runCell = (cell: CellSettings, target: CellTarget): Effect.Effect<ClientCell> =>
  Effect.gen(function* () {
    const seen: Seen = { latenciesMs: [], batchRequests: 0, rateLimited: 0 }
    const client = RecordsClient.DefaultWithoutDependencies({
      baseUrl: target.baseUrl,
      token: target.token,
      // Retry-After is always waited out; the backoff beyond it stays short, so a rate-limited cell is not idle for long.
      retry: retryPolicy({ cap: "5 seconds", maxRetries: 30, maxElapsed: "30 seconds" }),
      // A short poll, so that end to end is not mostly the default poll's 2 s first wait.
      poll: pollPolicy({ initial: "100 millis", factor: 1.5, cap: "1 second" }),
      pollTimeout: "5 minutes"
    }).pipe(Layer.provide(measuringHttpClient(seen)))
    const mode = writeMode(cell.operation === "append-batch" ? undefined : target.matchKey)
    const errorDetails: Array<string> = []
    let handedOver = 0
    let delivered = 0
    const started = performance.now()
    const deadline = started + target.durationMs
    const counted = function* () {
      for (const record of cellRecords(target, deadline)) {
        handedOver++
        yield record
      }
    }
    if (cell.tool === "write") {
      const outcome = yield* Effect.flatMap(RecordsClient, (records) =>
        records.write(target.objectName, counted(), {
          ...mode,
          maxRecords: cell.maxRecords,
          concurrency: cell.concurrency,
          collectRows: false
        })
      ).pipe(Effect.provide(client), Effect.either)
      if (outcome._tag === "Left") errorDetails.push(`write failed: ${outcome.left.message}`)
      else {
        const summary = outcome.right
        delivered = summary.inserted + summary.updated
        if (summary.invalid > 0) errorDetails.push(`${summary.invalid} rows invalid`)
        if (summary.deadLettered > 0) errorDetails.push(`${summary.deadLettered} records dead-lettered`)
      }
    } else {
      const outcome = yield* Effect.scoped(
        Effect.gen(function* () {
          const buffer = yield* RecordBuffer.make<unknown>(target.objectName, {
            ...mode,
            maxRecords: cell.maxRecords,
            maxAge: Duration.millis(cell.maxAgeMs ?? 5_000),
            concurrency: cell.concurrency,
            // Room for the groups being flushed and one more: offers then wait, as a queue consumer's would, and the
            // records offered in the cell's time are what the buffer can take.
            capacity: cell.maxRecords * (cell.concurrency + 1)
          })
          for (const record of counted()) yield* buffer.offer(record)
          return buffer
        })
      ).pipe(
        Effect.flatMap((buffer) => buffer.stats),
        Effect.provide(Layer.merge(client, DeadLetter.memory)),
        Effect.either
      )
      if (outcome._tag === "Left") errorDetails.push(`RecordBuffer failed: ${outcome.left.message}`)
      else {
        delivered = outcome.right.delivered
        if (outcome.right.deadLettered > 0) errorDetails.push(`${outcome.right.deadLettered} records dead-lettered`)
      }
    }
    const seconds = (performance.now() - started) / 1000
    if (delivered < handedOver && errorDetails.length === 0) {
      errorDetails.push(`${handedOver} records handed over but ${delivered} committed`)
    }
    return {
      ...cell,
      records: handedOver,
      delivered,
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSec: delivered / seconds,
      acceptLatencyMs: percentilesOf(seen.latenciesMs),
      batchRequests: seen.batchRequests,
      rateLimited: seen.rateLimited,
      errors: errorDetails.length === 0 ? 0 : Math.max(1, handedOver - delivered),
      errorDetails
    }
  })
