/**
 * Whether the storage takes writes now (SPEC §1.10, §1.11): `/readyz` says storage is down while the database is
 * unreachable, while a write does not commit (PostgreSQL: a {@link writeProbeTimeout}-bounded write of this host's
 * row of `storage_probes`, at most once a {@link writeProbeEvery}; a database that answers reads but refuses writes,
 * read-only or out of space, is down), while the disk of a SQLite file has less than {@link minFreeBytes} free, or
 * while writes fail (a storage fault seen by a request or a job worker in the last {@link faultMemory}, with no job
 * committed since). Nothing needs resetting: once writes succeed again, the storage is ready again on its own.
 *
 * SQLite has no write probe: its one connection runs a job's transaction at a time, so a probe would wait behind
 * them (a slow `/readyz` under load), and what stops its writes (a full disk, the file's directory gone) is read
 * from the file system instead, besides the faults seen.
 *
 * Job workers also wait out such a fault here before retrying (`waitOut`): the more faults in a row, the longer, up
 * to a few seconds.
 */
import { statfs } from "node:fs/promises"
import { hostname } from "node:os"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Duration, Effect, Option } from "effect"
import { StorageVolume } from "../storage/StorageVolume.js"

/**
 * The free space the disk of a SQLite file must have for the storage to count as up: room for a batch at the limit
 * (10 MiB, stored as received) and the rows it becomes.
 */
export const minFreeBytes = 32 * 1024 * 1024

/** How long a storage fault keeps the storage down, unless a job commits meanwhile. */
export const faultMemory = Duration.seconds(5)

/** The wait before retrying after the n-th storage fault in a row: 0.1 s doubling, at most 5 s. */
export const faultBackoff = (faultsInARow: number): Duration.Duration =>
  Duration.millis(Math.min(5_000, 100 * 2 ** Math.max(0, faultsInARow - 1)))

/** How often at most the PostgreSQL write probe runs (answers in between reuse its result). */
export const writeProbeEvery = Duration.seconds(1)

/** How long the PostgreSQL write probe may take before the storage counts as down. */
export const writeProbeTimeout = Duration.seconds(2)

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

const describeFault = (error: SqlError): string =>
  error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message

/** The storage's health as seen by this node. */
export class StorageHealth extends Effect.Service<StorageHealth>()("server/StorageHealth", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const volume = yield* StorageVolume
    let lastFault: { readonly at: number; readonly message: string } | undefined
    let faultsInARow = 0
    let lastCommitAt = 0

    const unreachable = sql`SELECT 1`.pipe(
      Effect.as(Option.none<string>()),
      Effect.catchAll((error) => Effect.succeed(Option.some(`the database is unreachable: ${describeFault(error)}`)))
    )

    const node = hostname()
    // Cached for `writeProbeEvery`, and dropped when a fault is noted: the next `/readyz` then says what a write meets
    // now (read-only, unreachable) rather than a remembered fault, or a probe that passed before the fault.
    const [writeProbe, forgetWriteProbe] = yield* sql
      .onDialectOrElse({
        pg: () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            sql.withTransaction(
              sql`INSERT INTO storage_probes (node, probed_at) VALUES (${node}, ${now})
                ON CONFLICT (node) DO UPDATE SET probed_at = EXCLUDED.probed_at`
            )
          ).pipe(
            Effect.timeoutFail({
              duration: writeProbeTimeout,
              onTimeout: () => `a write did not commit within ${Duration.format(writeProbeTimeout)}`
            }),
            Effect.as(Option.none<string>()),
            Effect.catchAll((error) =>
              Effect.succeed(Option.some(`writes fail: ${typeof error === "string" ? error : describeFault(error)}`))
            )
          ),
        orElse: () => Effect.succeed(Option.none<string>())
      })
      .pipe(Effect.cachedInvalidateWithTTL(writeProbeEvery))

    const diskFull = Option.match(volume, {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (directory) =>
        Effect.tryPromise(() => statfs(directory)).pipe(
          Effect.map((stats) => {
            const free = stats.bavail * stats.bsize
            return free < minFreeBytes
              ? Option.some(`the disk of the database has ${mib(free)} free (needs at least ${mib(minFreeBytes)})`)
              : Option.none()
          }),
          Effect.catchAll(() => Effect.succeed(Option.some(`the directory of the database (${directory}) is gone`)))
        )
    })

    const writesFailing = Effect.map(Clock.currentTimeMillis, (now) =>
      lastFault !== undefined && lastFault.at > lastCommitAt && now - lastFault.at < Duration.toMillis(faultMemory)
        ? Option.some(`writes failed ${((now - lastFault.at) / 1000).toFixed(1)} s ago: ${lastFault.message}`)
        : Option.none()
    )

    const noteFault = (error: SqlError): Effect.Effect<void> =>
      Effect.zipRight(
        Effect.map(Clock.currentTimeMillis, (now) => {
          lastFault = { at: now, message: describeFault(error) }
          faultsInARow += 1
        }),
        forgetWriteProbe
      )

    return {
      /** Notes a storage fault met by a request or a job worker (processing a group, or claiming one). */
      noteFault,

      /** Notes a job committed: writes succeed. */
      noteCommit: Effect.map(Clock.currentTimeMillis, (now) => {
        lastCommitAt = now
        faultsInARow = 0
      }),

      /**
       * Notes a storage fault met by a job worker and waits before the worker retries: {@link faultBackoff} of the
       * faults in a row.
       */
      waitOut: (error: SqlError): Effect.Effect<void> =>
        Effect.zipRight(
          noteFault(error),
          Effect.suspend(() => Effect.sleep(faultBackoff(faultsInARow)))
        ),

      /** Why the storage is down (`None` when it is up): unreachable, refusing a write, its disk full, or writes failing. */
      whyDown: Effect.gen(function* () {
        for (const check of [unreachable, writeProbe, diskFull, writesFailing]) {
          const reason = yield* check
          if (Option.isSome(reason)) return reason
        }
        return Option.none<string>()
      })
    } as const
  })
}) {}
