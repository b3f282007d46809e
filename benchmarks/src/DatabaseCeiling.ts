/**
 * The database ceiling of a row: the very records the row sent (its bodies, parsed before the clock starts), written
 * straight into the same kind of database by this process with `DirectWriter` (natural tables, prepared multi-row
 * `INSERT` / `INSERT … ON CONFLICT (email) DO UPDATE` with a field-level merge, one transaction per batch), not
 * through any of batchwrite's code. Batches go in the row's order, one at a time, except PostgreSQL appends, which
 * use as many connections at once as the load (`connections`): appends have no order to keep, and PostgreSQL
 * commits several at once. Upserts stay one at a time, as their order is part of the result (SPEC §1.4). Each
 * measurement starts from empty tables after two batches of warm-up; it is repeated (at most three times) while
 * the measurements so far took under 4 s in all, and the best counts (the machine is shared). Where the writer has
 * several ways to write the operation (PostgreSQL appends: `unnest` and `COPY`), each is measured so and the fastest
 * counts.
 */
import type { DirectOperation, DirectWriter, Fields, WriteMethod } from "./DirectWriter.js"

/** The database ceiling of one row. */
export interface DatabaseCeiling {
  readonly backend: string
  readonly operation: DirectOperation
  readonly batchSize: number
  readonly records: number
  /** Batches written at once. */
  readonly concurrency: number
  /** The best measurement. */
  readonly recordsPerSec: number
  /** The way of writing that gave it. */
  readonly method: WriteMethod
  /** Every measurement, records/s, by way of writing. */
  readonly measurements: Partial<Record<WriteMethod, ReadonlyArray<number>>>
}

/** Writes the row's records straight into the database and answers the records committed per second. */
export const measureDatabaseCeiling = async (
  writer: DirectWriter,
  settings: {
    readonly backend: string
    readonly operation: DirectOperation
    readonly batchSize: number
    readonly bodies: ReadonlyArray<Buffer>
    readonly concurrency: number
  }
): Promise<DatabaseCeiling> => {
  const { operation, concurrency } = settings
  const batches: ReadonlyArray<ReadonlyArray<Fields>> = settings.bodies.map(
    (body) => (JSON.parse(body.toString("utf8")) as { records: ReadonlyArray<Fields> }).records
  )
  const records = batches.reduce((sum, batch) => sum + batch.length, 0)
  const once = async (method: WriteMethod): Promise<number> => {
    await writer.reset()
    for (const batch of batches.slice(0, 2)) await writer.write(operation, batch, method)
    await writer.reset()
    const started = performance.now()
    let next = 0
    const lane = async () => {
      while (next < batches.length) await writer.write(operation, batches[next++]!, method)
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane))
    return records / ((performance.now() - started) / 1000)
  }
  const measurements: Partial<Record<WriteMethod, ReadonlyArray<number>>> = {}
  let best = { method: writer.methods(operation)[0]!, recordsPerSec: 0 }
  for (const method of writer.methods(operation)) {
    const rates: Array<number> = []
    let seconds = 0
    while (rates.length < 3 && seconds < 4) {
      const rate = await once(method)
      rates.push(rate)
      seconds += records / rate
      if (rate > best.recordsPerSec) best = { method, recordsPerSec: rate }
    }
    measurements[method] = rates.map(Math.round)
  }
  await writer.reset()
  return {
    backend: settings.backend,
    operation,
    batchSize: settings.batchSize,
    records,
    concurrency,
    ...best,
    measurements
  }
}
