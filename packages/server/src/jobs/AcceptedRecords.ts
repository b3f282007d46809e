/**
 * The records of batches this node accepted, as parsed (or serialized: `BatchRecords.KeptBatch`) at acceptance, kept
 * in memory for their jobs: a worker of this node that claims the job takes them instead of reading the stored body
 * back and parsing it a second time.
 *
 * Only a shortcut: the stored body stays the job's durable truth. A job whose records are not here (claimed by
 * another node, after a restart, on a retry, or evicted) is processed from its stored body, with the same outcome,
 * as the records here are exactly what parsing the stored body gives (the body is stored as received, and nothing
 * changes the parsed records; serialized records are used only under the schema they were checked against).
 * Batches of at most {@link capacityBytes} of body text in all are kept (their parsed records take a few times that
 * in memory). When that is full, batches kept longer than {@link maxAgeMillis} are
 * dropped (another node took their jobs), and a batch that still does not fit is not kept: the oldest batches are
 * the next to be processed, so they are the ones worth keeping.
 */
import { Effect, Option } from "effect"
import type { KeptBatch } from "./BatchRecords.js"

/** How much body text the kept batches may add up to: 32 MiB (about 190,000 records of 170 bytes). */
export const capacityBytes = 32 * 1024 * 1024

/** How long a batch is kept at least while there is room: a job queued longer is read from storage. */
export const maxAgeMillis = 30_000

interface Kept {
  readonly batch: KeptBatch
  readonly bytes: number
  readonly keptAt: number
}

/** The records of accepted batches, by job id, until a worker of this node takes them. */
export class AcceptedRecords extends Effect.Service<AcceptedRecords>()("server/AcceptedRecords", {
  sync: () => {
    // A Map iterates in insertion order: the first key is the oldest batch.
    const batches = new Map<string, Kept>()
    let keptBytes = 0
    const forget = (jobId: string) => {
      const batch = batches.get(jobId)
      if (batch === undefined) return
      batches.delete(jobId)
      keptBytes -= batch.bytes
    }
    return {
      /**
       * Keeps the records of the batch of job `jobId`, parsed from `bodyLength` characters of body text;
       * call before the acceptance commits, so a worker never claims the job before they are here.
       */
      keep: (jobId: string, batch: KeptBatch, bodyLength: number): Effect.Effect<void> =>
        Effect.sync(() => {
          forget(jobId)
          const now = Date.now()
          for (const [oldest, batch] of batches) {
            if (keptBytes + bodyLength <= capacityBytes || now - batch.keptAt < maxAgeMillis) break
            forget(oldest)
          }
          if (keptBytes + bodyLength > capacityBytes) return
          batches.set(jobId, { batch, bytes: bodyLength, keptAt: now })
          keptBytes += bodyLength
        }),
      /** Drops the records of a batch that was not accepted after all. */
      forget: (jobId: string): Effect.Effect<void> => Effect.sync(() => forget(jobId)),
      /** Takes (and drops) the records of job `jobId`, when this node still has them. */
      take: (jobId: string): Effect.Effect<Option.Option<KeptBatch>> =>
        Effect.sync(() => {
          const batch = batches.get(jobId)
          forget(jobId)
          return Option.map(Option.fromNullable(batch), (kept) => kept.batch)
        })
    } as const
  }
}) {}
