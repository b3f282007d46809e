/**
 * Preparing appends off the HTTP thread: an append to an object without match keys, of a body of at least
 * {@link AppendPreparationSettings.minBodyBytes}, is parsed, checked and validated, and its valid records serialized
 * as the JSON text their rows store, by one of a few `worker_threads` threads (`AppendPreparationWorker.ts`), while
 * the HTTP thread goes on with other requests. The HTTP thread then only writes the prepared texts.
 *
 * Why: on appends of 1,000 and 10,000 records the HTTP thread was busy 95–98 % of the time and the SQLite thread
 * 10–20 %: parsing the body (a fifth of its time), serializing each record for its row (an eighth), validating, and
 * the garbage of the parsed records (a fifth) all ran on it. Batches of other kinds (upserts, appends to an object
 * with match keys) stay on the HTTP thread: their records are merged there, and kept parsed for the job.
 *
 * The outcome is the same either way: the threads run the acceptance's checks (`checkBatch`) and the job's
 * validation (`BatchRecords.checkRecords`) themselves. A batch the checks refuse, or a thread that fails, answers
 * `None`: the HTTP thread then handles the batch itself, as any other (and answers the error). One thread starts
 * with the service, one more when all are busy, up to the setting; a thread that stops is replaced on next use.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { ObjectSchema } from "@batchwrite/core"
import { Context, Effect, Option, Runtime } from "effect"
import type { SerializedBatch } from "../jobs/BatchRecords.js"
import { threadModuleUrl } from "../ThreadModule.js"
import type { PreparationThreadData, PrepareReply, PrepareRequest } from "./AppendPreparationWorker.js"

/** How appends are prepared off the HTTP thread. */
export interface AppendPreparationSettings {
  /** The most threads; 0: every batch is prepared on the HTTP thread. */
  readonly threads: number
  /**
   * The smallest body prepared on a thread: below it, the round trip to a thread and the copies of the body and of
   * the texts cost about as much as the work itself.
   */
  readonly minBodyBytes: number
}

/** One thread fewer than the machine has processors (the HTTP thread), at least 1 and at most 4. */
export const defaultPreparationThreads = (): number => Math.max(1, Math.min(4, availableParallelism() - 1))

/** The settings of {@link AppendPreparation}; default {@link defaultPreparationThreads} threads, from 64 KiB. */
export class AppendPreparationConfig extends Context.Reference<AppendPreparationConfig>()(
  "server/AppendPreparationConfig",
  { defaultValue: (): AppendPreparationSettings => ({ threads: defaultPreparationThreads(), minBodyBytes: 64 * 1024 }) }
) {}

/** The threads' module (`AppendPreparationWorker.ts`, built as its own entry; see `threadModuleUrl`). */
const workerUrl = (): URL =>
  threadModuleUrl(import.meta.url, "services", "AppendPreparationWorker.js", "the preparation threads' module")

/**
 * The Node flags of the threads: the process's, without export conditions. The threads' module is a build and
 * loads builds; a condition that picks TypeScript sources (the workspace's tests run with `@batchwrite/source`)
 * would make it fail to load.
 */
const threadFlags = (): Array<string> => {
  const flags: Array<string> = []
  const parent = process.execArgv
  for (let i = 0; i < parent.length; i++) {
    const flag = parent[i]!
    if (flag === "--conditions" || flag === "-C") i++
    else if (!flag.startsWith("--conditions=") && !flag.startsWith("-C=")) flags.push(flag)
  }
  return flags
}

/** A running thread and the requests it has not answered, each with how to resume its caller. */
interface Thread {
  readonly worker: Worker
  readonly pending: Map<number, (batch: Option.Option<SerializedBatch>) => void>
}

/** The preparation threads. */
export class AppendPreparation extends Effect.Service<AppendPreparation>()("server/AppendPreparation", {
  scoped: Effect.gen(function* () {
    const settings = yield* AppendPreparationConfig
    const log = Runtime.runFork(yield* Effect.runtime<never>())
    const threads: Array<Thread> = []
    let nextId = 0

    const start = (): Thread => {
      const data: PreparationThreadData = { batchwritePreparationThread: true }
      const worker = new Worker(workerUrl(), { workerData: data, execArgv: threadFlags() })
      // Referenced only while it has work: an idle thread does not keep the process alive.
      worker.unref()
      const thread: Thread = { worker, pending: new Map() }
      const settle = (id: number, batch: Option.Option<SerializedBatch>) => {
        const resume = thread.pending.get(id)
        if (resume === undefined) return
        thread.pending.delete(id)
        if (thread.pending.size === 0) worker.unref()
        resume(batch)
      }
      const stop = () => {
        const at = threads.indexOf(thread)
        if (at >= 0) threads.splice(at, 1)
        for (const id of Array.from(thread.pending.keys())) settle(id, Option.none())
      }
      worker.on("message", (reply: PrepareReply) => settle(reply.id, Option.fromNullable(reply.batch)))
      worker.on("error", (error) => {
        log(Effect.logWarning("a preparation thread failed; its batches are prepared on the HTTP thread", error))
        stop()
      })
      worker.on("exit", stop)
      threads.push(thread)
      return thread
    }

    // An idle thread, else a new one while there may be more, else the least busy.
    const pick = (): Thread => {
      const idle = threads.find((thread) => thread.pending.size === 0)
      if (idle !== undefined) return idle
      if (threads.length < settings.threads) return start()
      return threads.reduce((least, thread) => (thread.pending.size < least.pending.size ? thread : least))
    }

    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all(threads.map((thread) => thread.worker.terminate())))
    )
    // The first thread starts with the service, so that the first large append does not wait for it to load.
    if (settings.threads > 0) start()

    return {
      /** Whether an append of `bytes` of body to an object without match keys is prepared on a thread. */
      applies: (bytes: number): boolean => settings.threads > 0 && bytes >= settings.minBodyBytes,

      /**
       * The append's body checked and its records serialized, on a thread; `None` when the batch fails the
       * acceptance's checks or the thread fails (the caller then handles the batch itself).
       */
      prepare: (
        body: string,
        definition: ObjectSchema.ObjectDefinition
      ): Effect.Effect<Option.Option<SerializedBatch>> =>
        Effect.async<Option.Option<SerializedBatch>>((resume) => {
          const thread = pick()
          const id = nextId++
          if (thread.pending.size === 0) thread.worker.ref()
          thread.pending.set(id, (batch) => resume(Effect.succeed(batch)))
          thread.worker.postMessage({ id, body, definition } satisfies PrepareRequest)
          return Effect.sync(() => {
            thread.pending.delete(id)
            if (thread.pending.size === 0) thread.worker.unref()
          })
        })
    } as const
  })
}) {}
