/**
 * Admission control of writes (SPEC §1.11, issue 13's backpressure), decided from the request's headers before its
 * body is read, so that memory and job latency stay bounded under any load:
 *
 * - **In-flight body bytes**, across the node: a write holds its declared `Content-Length` (the body limit when it is
 *   gzip or has no length) from admission until it is answered. One that would take the node over
 *   `maxInFlightBodyBytes` is refused (the first one is always let in, whatever its size), with a wait that grows
 *   with the bodies refused in the last second. A refused body is still read and thrown away (by Node, as the
 *   connection stays open) so that the client reads the answer, but it is never kept.
 * - **Backlog**, per workspace: the records accepted and not yet committed (jobs queued or processing). At
 *   `maxBacklogRecords` or more, the workspace's writes are refused with a wait computed from the drain rate (records
 *   committed per second on this node over the last {@link drainWindowSeconds} s) for the backlog to fall back to
 *   90 % of the bound. The backlog is read from the jobs table (every node's jobs on shared storage) at most once a
 *   second, plus what this node accepted since (each job counted once: `AcceptedSinceRead`): a bound that holds to
 *   within the batches in flight at once.
 */
import { Limits } from "@batchwrite/core"
import { Context, Effect } from "effect"
import { JobsRepo } from "../storage/JobsRepo.js"
import { ServiceMetrics } from "./ServiceMetrics.js"

/** The bounds of admission. */
export interface AdmissionLimits {
  /** The most request body bytes being received and handled at once on this node. */
  readonly maxInFlightBodyBytes: number
  /** The most records a workspace may have accepted and not yet committed before its writes are refused. */
  readonly maxBacklogRecords: number
}

/** The defaults: 256 MiB of bodies in flight per node, 2,000,000 records of backlog per workspace. */
export const defaultAdmissionLimits: AdmissionLimits = {
  maxInFlightBodyBytes: 256 * 1024 * 1024,
  maxBacklogRecords: 2_000_000
}

/** The admission bounds of the node ({@link defaultAdmissionLimits} unless configured). */
export class AdmissionSettings extends Context.Reference<AdmissionSettings>()("server/AdmissionSettings", {
  defaultValue: (): AdmissionLimits => defaultAdmissionLimits
}) {}

/** Over how many seconds the drain rate is measured. */
export const drainWindowSeconds = 10

/** How old the backlog read from storage may be. */
const backlogMaxAgeMillis = 1_000

/**
 * The wait answered with a refusal for body bytes: as many seconds as bounds' worth of bodies were refused in the
 * last second (a body is received and answered in about a second), so that a crowd of refused clients comes back
 * spread out instead of all resending at once; at least 1, at most {@link maxBacklogRetryAfterSeconds}.
 */
export const inFlightRetryAfter = (refusedBytesLastSecond: number, limit: number): number =>
  Math.min(maxBacklogRetryAfterSeconds, Math.max(1, Math.ceil(refusedBytesLastSecond / limit)))

/** The longest wait answered with a refusal for backlog. */
export const maxBacklogRetryAfterSeconds = 30

/** The wait answered with a refusal for backlog while nothing was committed in the drain window. */
export const stalledRetryAfterSeconds = 5

/** Which bound refused a write. */
export type AdmissionBound = "in-flight-body-bytes" | "backlog-records"

/** A write refused before its body was read: the bound, its value, where the node or workspace is, and when to retry. */
export interface Refusal {
  readonly bound: AdmissionBound
  readonly limit: number
  readonly current: number
  readonly retryAfterSeconds: number
}

/** What `/readyz` and `/metrics` report. */
export interface AdmissionState {
  readonly inFlightBodyBytes: number
  readonly maxInFlightBodyBytes: number
  readonly backlogRecords: Readonly<Record<string, number>>
  readonly maxBacklogRecords: number
  readonly drainRecordsPerSecond: number
}

/**
 * The seconds to wait for `backlog` to drain to 90 % of `limit` at `rate` records/s, within 1 and
 * {@link maxBacklogRetryAfterSeconds}; {@link stalledRetryAfterSeconds} when nothing drained lately.
 */
export const backlogRetryAfter = (backlog: number, limit: number, rate: number): number =>
  rate <= 0
    ? stalledRetryAfterSeconds
    : Math.min(maxBacklogRetryAfterSeconds, Math.max(1, Math.ceil((backlog - 0.9 * limit) / rate)))

/** The bytes a write holds while in flight: its `Content-Length`; the body limit when gzip or unknown; none over it. */
const bodyBytesOf = (headers: Readonly<Record<string, string | undefined>>): number => {
  const declared = Number(headers["content-length"])
  const encoding = (headers["content-encoding"] ?? "identity").trim().toLowerCase()
  if (encoding !== "identity" || headers["content-length"] === undefined || !Number.isFinite(declared)) {
    return Limits.maxBodyBytes
  }
  // A body declared over the limit is answered 413 without being kept.
  return declared > Limits.maxBodyBytes ? 0 : declared
}

/**
 * The jobs this node accepted since the backlog was last read, each counted once. A read may or may not see a job
 * whose commit raced it, and the job's note may come before or after the read: so the read answers the ids of the
 * recent jobs it saw (`read`), and a note of one of them is dropped, whenever it comes. Notes made before the read
 * began are dropped when it ends: their commit came before it.
 */
export class AcceptedSinceRead {
  private readonly jobs = new Map<string, { readonly workspace: string; readonly records: number }>()
  private readonly totals = new Map<string, number>()
  private seenByRead: ReadonlySet<string> = new Set()

  note(workspace: string, jobId: string, records: number): void {
    if (this.seenByRead.has(jobId)) return
    this.jobs.set(jobId, { workspace, records })
    this.totals.set(workspace, (this.totals.get(workspace) ?? 0) + records)
  }

  /** The jobs noted so far: pass them to `read` once the read that begins now ends. */
  noted(): ReadonlyArray<string> {
    return Array.from(this.jobs.keys())
  }

  /** Forgets the jobs noted before the read and those it saw. */
  read(notedBefore: ReadonlyArray<string>, seen: ReadonlySet<string>): void {
    for (const jobId of notedBefore) this.jobs.delete(jobId)
    for (const jobId of seen) this.jobs.delete(jobId)
    this.seenByRead = seen
    this.totals.clear()
    for (const { records, workspace } of this.jobs.values())
      this.totals.set(workspace, (this.totals.get(workspace) ?? 0) + records)
  }

  records(workspace: string): number {
    return this.totals.get(workspace) ?? 0
  }

  workspaces(): Iterable<string> {
    return this.totals.keys()
  }
}

/** Admission of writes on this node. */
export class Admission extends Effect.Service<Admission>()("server/Admission", {
  scoped: Effect.gen(function* () {
    const limits = yield* AdmissionSettings
    const jobs = yield* JobsRepo
    const metrics = yield* ServiceMetrics
    let inFlightBodyBytes = 0
    const refused: Record<AdmissionBound, number> = { "in-flight-body-bytes": 0, "backlog-records": 0 }

    let stored: { readonly at: number; readonly records: ReadonlyMap<string, number> } = { at: 0, records: new Map() }
    const since = new AcceptedSinceRead()
    // When each write now being handled was admitted: its job, if any, is created after that.
    const admittedAt = new Map<number, number>()
    let nextAdmission = 0
    const refreshing = yield* Effect.makeSemaphore(1)
    const isStale = () => Date.now() - stored.at > backlogMaxAgeMillis
    const refresh = Effect.gen(function* () {
      const at = Date.now()
      const notedBefore = since.noted()
      // A job the read may see and a note may also count was created since the oldest write now in progress was
      // admitted (a second earlier, in case the clock steps back).
      let oldest = at
      for (const admitted of admittedAt.values()) oldest = Math.min(oldest, admitted)
      const backlog = yield* jobs.backlogByWorkspace(oldest - 1_000)
      since.read(notedBefore, backlog.recentJobs)
      stored = { at, records: backlog.records }
    }).pipe(
      // Storage down: keep the last read; the write itself will meet the fault and say so.
      Effect.catchAllCause(() => Effect.void)
    )
    const refreshIfStale = Effect.suspend(() =>
      isStale() ? refreshing.withPermits(1)(Effect.suspend(() => (isStale() ? refresh : Effect.void))) : Effect.void
    )
    const backlogNow = (workspace: string) => (stored.records.get(workspace) ?? 0) + since.records(workspace)

    // The drain: records committed on this node, sampled every second over the window.
    const samples: Array<{ readonly at: number; readonly committed: number }> = []
    let refusedBytes = { lastSecond: 0, thisSecond: 0 }
    const sample = Effect.map(metrics.committedRecords, (committed) => {
      refusedBytes = { lastSecond: refusedBytes.thisSecond, thisSecond: 0 }
      samples.push({ at: Date.now(), committed })
      if (samples.length > drainWindowSeconds + 1) samples.shift()
    })
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(sample, Effect.sleep("1 second"))))
    const drainRate = (): number => {
      const first = samples[0]
      const last = samples[samples.length - 1]
      if (first === undefined || last === undefined || last.at <= first.at) return 0
      return ((last.committed - first.committed) * 1000) / (last.at - first.at)
    }

    // Why a write of `workspace` with a body of `bytes` is refused now, counted as refused (and its bytes, for the
    // wait of later refusals); `undefined` if it is not.
    const refusalOf = (workspace: string, bytes: number): Refusal | undefined => {
      const backlog = backlogNow(workspace)
      if (backlog >= limits.maxBacklogRecords) {
        refused["backlog-records"] += 1
        return {
          bound: "backlog-records",
          limit: limits.maxBacklogRecords,
          current: backlog,
          retryAfterSeconds: backlogRetryAfter(backlog, limits.maxBacklogRecords, drainRate())
        }
      }
      if (inFlightBodyBytes > 0 && inFlightBodyBytes + bytes > limits.maxInFlightBodyBytes) {
        refused["in-flight-body-bytes"] += 1
        refusedBytes.thisSecond += bytes
        return {
          bound: "in-flight-body-bytes",
          limit: limits.maxInFlightBodyBytes,
          current: inFlightBodyBytes,
          retryAfterSeconds: inFlightRetryAfter(
            Math.max(refusedBytes.lastSecond, refusedBytes.thisSecond),
            limits.maxInFlightBodyBytes
          )
        }
      }
      return undefined
    }

    // Holds a write's body bytes and notes when it was admitted; answers what lets them go.
    const hold = (bytes: number): Effect.Effect<void> => {
      inFlightBodyBytes += bytes
      const admission = nextAdmission++
      admittedAt.set(admission, Date.now())
      return Effect.sync(() => {
        inFlightBodyBytes -= bytes
        admittedAt.delete(admission)
      })
    }

    return {
      /**
       * Runs `write`, a write of `workspace` admitted from its headers, holding its body bytes until it ends; or,
       * holding nothing, answers `onRefused` with why it is refused. (`Effect.ensuring`, not a scope's finalizer:
       * providing a scope and releasing through `Effect.acquireRelease`, which saves the fiber's references and diffs
       * them twice, was 17 % of what an append of 10 records allocated: 500 KB, 413 KB without.)
       */
      admitting: <A, E, R>(
        workspace: string,
        headers: Readonly<Record<string, string | undefined>>,
        onRefused: (refusal: Refusal) => A,
        write: Effect.Effect<A, E, R>
      ): Effect.Effect<A, E, R> =>
        Effect.zipRight(
          refreshIfStale,
          Effect.uninterruptibleMask((restore) =>
            Effect.suspend(() => {
              const bytes = bodyBytesOf(headers)
              const refusal = refusalOf(workspace, bytes)
              return refusal === undefined
                ? Effect.ensuring(restore(write), hold(bytes))
                : Effect.succeed(onRefused(refusal))
            })
          )
        ),

      /**
       * Counts the records of a job this node just queued into its workspace's backlog (not one applied in its
       * acceptance's transaction: that one is committed). Call it while the write's admission holds (in `admitting`).
       */
      noteAccepted: (workspace: string, jobId: string, records: number): Effect.Effect<void> =>
        Effect.sync(() => since.note(workspace, jobId, records)),

      /** The bounds and where the node stands (the backlog as last read, plus this node's accepts since). */
      state: Effect.zipRight(
        refreshIfStale,
        Effect.sync(
          (): AdmissionState => ({
            inFlightBodyBytes,
            maxInFlightBodyBytes: limits.maxInFlightBodyBytes,
            backlogRecords: Object.fromEntries(
              [...new Set([...stored.records.keys(), ...since.workspaces()])].map((workspace) => [
                workspace,
                backlogNow(workspace)
              ])
            ),
            maxBacklogRecords: limits.maxBacklogRecords,
            drainRecordsPerSecond: Math.round(drainRate())
          })
        )
      ),

      /** How many writes each bound refused. */
      refusals: Effect.sync((): Readonly<Record<AdmissionBound, number>> => ({ ...refused }))
    } as const
  }),
  dependencies: [JobsRepo.Default, ServiceMetrics.Default]
}) {}

/** The admission gauges and refusal counters in the Prometheus text format. */
export const admissionMetrics = (state: AdmissionState, refusals: Readonly<Record<AdmissionBound, number>>): string => {
  const lines = [
    "# HELP batchwrite_admission_in_flight_body_bytes Request body bytes being received and handled on this node.",
    "# TYPE batchwrite_admission_in_flight_body_bytes gauge",
    `batchwrite_admission_in_flight_body_bytes ${state.inFlightBodyBytes}`,
    "# HELP batchwrite_admission_max_in_flight_body_bytes The bound on in-flight body bytes; writes beyond it get 503.",
    "# TYPE batchwrite_admission_max_in_flight_body_bytes gauge",
    `batchwrite_admission_max_in_flight_body_bytes ${state.maxInFlightBodyBytes}`,
    "# HELP batchwrite_admission_backlog_records Records accepted and not yet committed, by workspace.",
    "# TYPE batchwrite_admission_backlog_records gauge",
    ...Object.entries(state.backlogRecords)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([workspace, records]) => `batchwrite_admission_backlog_records{workspace="${workspace}"} ${records}`),
    "# HELP batchwrite_admission_max_backlog_records The bound on a workspace's backlog; its writes beyond it get 503.",
    "# TYPE batchwrite_admission_max_backlog_records gauge",
    `batchwrite_admission_max_backlog_records ${state.maxBacklogRecords}`,
    `# HELP batchwrite_admission_drain_records_per_second Records committed per second on this node (last ${drainWindowSeconds} s).`,
    "# TYPE batchwrite_admission_drain_records_per_second gauge",
    `batchwrite_admission_drain_records_per_second ${state.drainRecordsPerSecond}`,
    "# HELP batchwrite_admission_refused_total Writes refused before their body was read, by bound.",
    "# TYPE batchwrite_admission_refused_total counter",
    ...Object.entries(refusals).map(([bound, count]) => `batchwrite_admission_refused_total{bound="${bound}"} ${count}`)
  ]
  return `${lines.join("\n")}\n`
}
