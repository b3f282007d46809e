/**
 * A SQLite connection that runs on its own worker thread: an `SqlClient` whose statements are executed by
 * better-sqlite3 on a `node:worker_threads` thread holding the one connection, so the thread that answers HTTP never
 * waits inside SQLite. better-sqlite3 is synchronous: on the HTTP thread, every statement (a job's inserts, the
 * accepted body) would stop the event loop for as long as it runs.
 *
 * The client keeps the semantics of `@effect/sql-sqlite-node`'s `SqliteClient`: one connection, statements and
 * transactions one after another, prepared statements cached by their text. The thread runs requests in the order
 * they are posted, so one fiber at a time posts (a semaphore): from its statement, or its `BEGIN`, until that
 * statement, or the `COMMIT` / `ROLLBACK`, is posted; then the next fiber may post while the thread is still
 * running the previous work (a statement posted after another fiber's `BEGIN` would run inside its transaction, so
 * the order of posting is the order of execution). A statement completes when SQLite has run it (a `COMMIT` when it
 * has committed), so durability is that of the connection's `synchronous` setting, as before; a `COMMIT` that fails
 * is rolled back by the thread, so nothing posted after it runs in a transaction left open.
 *
 * Pipelining inside transactions: a write that returns no rows (an `INSERT` without `RETURNING`, a `BEGIN`), sent
 * inside a transaction once its statement is known to return no rows (SQLite said so when it last ran, or its text
 * says so: {@link returnsNoRows}), is not waited for: the HTTP thread goes on
 * while SQLite runs it, as a job's transaction is many chunked inserts. Not after a `SAVEPOINT`: a nested
 * transaction may fail and be rolled back alone, so its statements report their own errors. When a pipelined
 * statement fails, the thread refuses every later
 * statement of the transaction with that error (the next one waited for, at the latest the `COMMIT`, fails with
 * it) until the transaction is rolled back; a refused `COMMIT` rolls back. So a transaction still commits all or
 * nothing; only the statement that reports the error differs (a caller cannot catch the error of one pipelined
 * write and go on with the transaction).
 *
 * The thread's code is its own module, `SqliteWorker.ts`, built as its own entry (also next to the bundled CLI); it
 * loads better-sqlite3 from the path resolved here. Not supported:
 * `SafeIntegers` (integers come back as numbers) and `executeStream` (as in `SqliteClient`).
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection, Row } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { Effect, Exit, Layer, Scope, Stream } from "effect"
import { threadModuleUrl } from "../ThreadModule.js"
import type { PostedRequest, Reply, Request, ThreadData } from "./SqliteWorker.js"

/** Options of {@link layer}. */
export interface SqliteThreadOptions {
  /** The database file; created when missing. */
  readonly filename: string
  /** How many prepared statements the thread keeps, by their text. Default 200. */
  readonly prepareCacheSize?: number | undefined
}

/** The thread's module (`SqliteWorker.ts`, built as its own entry; see `threadModuleUrl`). */
export const workerUrl = (): URL =>
  threadModuleUrl(import.meta.url, "storage", "SqliteWorker.js", "the SQLite thread's module")

/** Where better-sqlite3 is: next to the code (the bundled CLI), else where `@effect/sql-sqlite-node` finds it. */
export const driverPath = (): string => {
  const here = createRequire(import.meta.url)
  try {
    return here.resolve("better-sqlite3")
  } catch {
    return createRequire(here.resolve("@effect/sql-sqlite-node/SqliteClient")).resolve("better-sqlite3")
  }
}

/** How many parameters of requests not waited for may wait to be posted together. */
const flushParams = 10_000

/** The statements of one thread, each answered by its reply; the thread is referenced only while one is pending. */
const startThread = (options: SqliteThreadOptions) =>
  Effect.sync(() => {
    const data: ThreadData = {
      batchwriteSqliteThread: true,
      driver: driverPath(),
      prepareCacheSize: Math.max(1, options.prepareCacheSize ?? 200)
    }
    const worker = new Worker(workerUrl(), { workerData: data })
    worker.unref()
    const pending = new Map<number, (exit: Exit.Exit<unknown, SqlError>) => void>()
    let nextId = 0
    let stopped: SqlError | undefined
    const settle = (id: number, exit: Exit.Exit<unknown, SqlError>) => {
      const resume = pending.get(id)
      if (resume === undefined) return
      pending.delete(id)
      if (pending.size === 0) worker.unref()
      resume(exit)
    }
    const stop = (error: SqlError) => {
      stopped ??= error
      for (const id of Array.from(pending.keys())) settle(id, Exit.fail(error))
    }
    worker.on("message", (reply: Reply) =>
      settle(
        reply.id,
        reply.ok
          ? Exit.succeed(reply.value)
          : Exit.fail(
              new SqlError({
                cause: Object.assign(new Error(reply.message), { code: reply.code }),
                message: "Failed to execute statement"
              })
            )
      )
    )
    worker.on("error", (cause) => stop(new SqlError({ cause, message: "The SQLite thread failed" })))
    worker.on("exit", (code) => stop(new SqlError({ cause: code, message: "The SQLite thread stopped" })))

    // Requests sent without waiting are posted together with the next one (or once they carry enough
    // parameters): every message wakes the thread, and on a busy machine that costs more than the copying.
    let buffered: Array<PostedRequest> = []
    let bufferedParams = 0
    const flush = () => {
      worker.postMessage(buffered)
      buffered = []
      bufferedParams = 0
    }
    /**
     * Posts a request at once and answers how to wait for its reply: what is done between the two (letting another
     * fiber use the connection) runs after the request, as the thread runs requests in the order posted.
     */
    const post = (request: Request): Effect.Effect<Effect.Effect<unknown, SqlError>> =>
      Effect.sync(() => {
        if (stopped !== undefined) return Effect.fail(stopped)
        let early: Exit.Exit<unknown, SqlError> | undefined
        let resume: ((exit: Exit.Exit<unknown, SqlError>) => void) | undefined
        const id = nextId++
        if (pending.size === 0) worker.ref()
        pending.set(id, (exit) => {
          if (resume === undefined) early = exit
          else resume(exit)
        })
        buffered.push({ ...request, id })
        flush()
        return Effect.async<unknown, SqlError>((callback) => {
          if (early !== undefined) callback(early)
          else resume = callback
        })
      })
    const call = (request: Request): Effect.Effect<unknown, SqlError> => Effect.flatten(post(request))
    /** Sends a request without waiting for it: its failure is reported to the next request waited for. */
    const send = (request: Request): Effect.Effect<void, SqlError> =>
      Effect.suspend(() => {
        if (stopped !== undefined) return Effect.fail(stopped)
        buffered.push({ ...request, id: -1, pipelined: true })
        bufferedParams += "params" in request ? request.params.length + 1 : 1
        if (bufferedParams >= flushParams) flush()
        return Effect.void
      })
    return { call, post, send, worker } as const
  })

type Thread = Effect.Effect.Success<ReturnType<typeof startThread>>

/** How many statement texts the connection remembers as writes (to pipeline them); forgotten all at once beyond. */
const rememberedWrites = 1_000

/**
 * Whether a statement's text says that it returns no rows: an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`.
 * A multi-row write's text changes with its number of rows, so the last, shorter chunk of a long write was a text the
 * connection had not seen yet, and waited for (2–13 ms per transaction, the HTTP thread's turn to read the answer).
 * The word `RETURNING` anywhere, even inside a quoted value, makes the statement wait: a wrong "no" only costs time.
 */
const returnsNoRows = (sql: string): boolean => /^\s*(INSERT|UPDATE|DELETE)\s/i.test(sql) && !/RETURNING/i.test(sql)

/** The texts of statements SQLite reported as returning no rows, of one thread. */
type Writes = Set<string>

/**
 * The connection as one acquisition sees it: a single statement (`"statement"`), or a transaction from `BEGIN` to
 * `COMMIT` or `ROLLBACK` (`"transaction"`). `release` lets other fibers use the connection: right after the
 * statement, or the `COMMIT` / `ROLLBACK`, is posted, as the thread runs everything after it anyway (a failed
 * `COMMIT` is rolled back by the thread, so nothing posted later runs in a transaction left open).
 */
const connectionOf = (
  thread: Thread,
  writes: Writes,
  mode: "statement" | "transaction",
  release: Effect.Effect<void>
): Connection => {
  // Whether writes are pipelined now: inside this transaction, until a savepoint is taken (a nested transaction
  // may fail and be rolled back alone, so its statements must fail where they are).
  let pipelining = false
  const call = (request: Request, ends: boolean) =>
    ends ? Effect.flatMap(thread.post(request), (reply) => Effect.zipRight(release, reply)) : thread.call(request)
  const query = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.map(call({ kind: "rows", sql, params }, mode === "statement"), (result) => {
      const { reader, rows } = result as { readonly rows: ReadonlyArray<Row>; readonly reader: boolean }
      if (!reader) {
        if (writes.size >= rememberedWrites) writes.clear()
        writes.add(sql)
      }
      return rows
    })
  const execute = (sql: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
    Effect.suspend(() =>
      pipelining && (writes.has(sql) || returnsNoRows(sql))
        ? Effect.as(thread.send({ kind: "rows", sql, params }), [])
        : query(sql, params)
    )
  const unprepared = (sql: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Row>, SqlError> => {
    if (mode === "transaction" && (sql === "BEGIN" || sql.startsWith("SAVEPOINT "))) {
      return Effect.suspend(() => {
        pipelining = sql === "BEGIN"
        return Effect.as(thread.send({ kind: "unprepared", sql, params }), [])
      })
    }
    const ends = mode === "statement" || sql === "COMMIT" || sql === "ROLLBACK"
    return Effect.suspend(() => {
      if (ends) pipelining = false
      return call({ kind: "unprepared", sql, params }, ends) as Effect.Effect<ReadonlyArray<Row>, SqlError>
    })
  }
  const statement = mode === "statement"
  return {
    execute: (sql, params, transformRows) =>
      transformRows === undefined ? execute(sql, params) : Effect.map(execute(sql, params), transformRows),
    executeRaw: (sql, params) => call({ kind: "raw", sql, params }, statement),
    executeValues: (sql, params) =>
      call({ kind: "values", sql, params }, statement) as Effect.Effect<
        ReadonlyArray<ReadonlyArray<unknown>>,
        SqlError
      >,
    executeUnprepared: (sql, params, transformRows) =>
      transformRows === undefined ? unprepared(sql, params) : Effect.map(unprepared(sql, params), transformRows),
    executeStream: () => Stream.dieMessage("executeStream is not implemented for SQLite")
  }
}

/** An `SqlClient` on the SQLite file, its connection on a worker thread; closed with the scope. */
export const make = (options: SqliteThreadOptions): Effect.Effect<SqlClient.SqlClient, SqlError, Scope.Scope> =>
  Effect.gen(function* () {
    const thread = yield* Effect.acquireRelease(startThread(options), (thread) =>
      Effect.zipRight(
        Effect.ignore(thread.call({ kind: "close" })),
        Effect.promise(() => thread.worker.terminate())
      )
    )
    yield* thread.call({ kind: "open", filename: options.filename })
    const writes: Writes = new Set()
    const semaphore = yield* Effect.makeSemaphore(1)
    // One fiber at a time posts to the connection, from its statement (or BEGIN) until that statement (or the
    // COMMIT / ROLLBACK) is posted: a statement posted after another fiber's BEGIN would run inside its transaction.
    // The scope releases it too, once, if it was not released then (a failure before, an interruption).
    const acquire = (mode: "statement" | "transaction") =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.flatMap(Effect.scope, (scope) => {
            let held = true
            const release = Effect.suspend(() => {
              if (!held) return Effect.void
              held = false
              return semaphore.release(1)
            })
            return Effect.as(Scope.addFinalizer(scope, release), connectionOf(thread, writes, mode, release))
          })
        )
      )
    return yield* Effect.provideService(
      SqlClient.make({
        acquirer: acquire("statement"),
        transactionAcquirer: acquire("transaction"),
        compiler: Statement.makeCompilerSqlite(),
        spanAttributes: [["db.system.name", "sqlite"]]
      }),
      Reactivity.Reactivity,
      yield* Reactivity.make
    )
  })

/** A layer providing `SqlClient` on the SQLite file, its connection on a worker thread. */
export const layer = (options: SqliteThreadOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.scoped(SqlClient.SqlClient, make(options))
