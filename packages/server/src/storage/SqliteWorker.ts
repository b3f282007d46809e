/**
 * The SQLite thread's code (see `SqliteThread.ts`): run as a `worker_threads` worker, it opens the database on
 * `open`, then executes the requests of each message in order and answers every request that is not pipelined.
 * `failure` is the error of a pipelined statement, kept until the transaction is rolled back (to a savepoint taken
 * before it, or entirely); `savepoints` are the names of the open savepoints.
 *
 * The same module also runs the WAL checkpointer's thread (`checkpoint`, started by `SqliteCheckpointer.ts`), by
 * the flag its `workerData` carries.
 *
 * Built as its own entry: `dist/storage/SqliteWorker.js` of this package, and `dist/SqliteWorker.js` next to the
 * bundled CLI. It loads better-sqlite3 from the path the parent resolved (`workerData.driver`).
 */
import { createRequire } from "node:module"
import { isMainThread, type MessagePort, parentPort, workerData } from "node:worker_threads"

/** A request to the thread. */
export type Request =
  | { readonly kind: "open"; readonly filename: string }
  | {
      readonly kind: "rows" | "raw" | "values" | "unprepared"
      readonly sql: string
      readonly params: ReadonlyArray<unknown>
    }
  | { readonly kind: "close" }

/** A request as posted: numbered, and `pipelined` when nobody waits for its answer. */
export type PostedRequest = Request & { readonly id: number; readonly pipelined?: true }

/** The answer to a request that is not pipelined. */
export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: unknown }

/** What the parent gives the thread. */
export interface ThreadData {
  readonly batchwriteSqliteThread: true
  /** The path of better-sqlite3's entry. */
  readonly driver: string
  /** How many prepared statements to keep, by their text. */
  readonly prepareCacheSize: number
}

/** The part of a better-sqlite3 statement the thread uses. */
interface Statement {
  readonly reader: boolean
  all(...params: ReadonlyArray<unknown>): Array<unknown>
  run(...params: ReadonlyArray<unknown>): unknown
  raw(on: boolean): Statement
}

/** The part of a better-sqlite3 database the thread uses. */
interface Connection {
  readonly open: boolean
  readonly inTransaction: boolean
  prepare(sql: string): Statement
  pragma(pragma: string): unknown
  exec(sql: string): unknown
  close(): unknown
}

interface Failure {
  readonly message: string
  readonly code: unknown
  /** How many savepoints were open when the failed statement ran. */
  readonly depth: number
}

const errorOf = (error: unknown) => ({
  message: String((error as { message?: unknown } | null)?.message),
  code: (error as { code?: unknown } | null)?.code
})

/** Runs the thread on `port`: one connection, requests in the order posted. */
export const serve = (port: MessagePort, data: ThreadData): void => {
  const Database = createRequire(import.meta.url)(data.driver) as new (filename: string) => Connection
  let db: Connection | undefined
  let failure: Failure | undefined
  let savepoints: Array<string> = []
  const cache = new Map<string, Statement>()
  const connection = (): Connection => {
    if (db === undefined) throw new Error("the database is not open")
    return db
  }

  const prepared = (sql: string): Statement => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      statement = connection().prepare(sql)
      if (cache.size >= data.prepareCacheSize) cache.delete(cache.keys().next().value!)
      cache.set(sql, statement)
    }
    return statement
  }

  const rows = (statement: Statement, params: ReadonlyArray<unknown>): Array<unknown> => {
    if (statement.reader) return statement.all(...params)
    statement.run(...params)
    return []
  }

  const values = (statement: Statement, params: ReadonlyArray<unknown>): Array<unknown> => {
    if (!statement.reader) {
      statement.run(...params)
      return []
    }
    statement.raw(true)
    try {
      return statement.all(...params)
    } finally {
      statement.raw(false)
    }
  }

  const track = (sql: string) => {
    if (sql === "BEGIN" || sql === "COMMIT" || sql === "ROLLBACK") savepoints = []
    else if (sql.startsWith("SAVEPOINT ")) savepoints.push(sql.slice(10))
    else if (sql.startsWith("ROLLBACK TO SAVEPOINT ")) {
      const at = savepoints.lastIndexOf(sql.slice(22))
      if (at >= 0) savepoints.length = at + 1
    }
  }

  const execute = (request: Request): unknown => {
    switch (request.kind) {
      case "open":
        db = new Database(request.filename)
        db.pragma("journal_mode = WAL")
        return null
      case "rows": {
        const statement = prepared(request.sql)
        return { rows: rows(statement, request.params), reader: statement.reader }
      }
      case "raw": {
        const statement = prepared(request.sql)
        return statement.reader ? statement.all(...request.params) : statement.run(...request.params)
      }
      case "values":
        return values(prepared(request.sql), request.params)
      case "unprepared": {
        let result: Array<unknown>
        try {
          result = rows(connection().prepare(request.sql), request.params)
        } catch (error) {
          // A COMMIT that fails leaves no transaction open: requests posted after it run on their own.
          if (request.sql === "COMMIT" && connection().inTransaction) {
            connection().exec("ROLLBACK")
            savepoints = []
          }
          throw error
        }
        track(request.sql)
        return result
      }
      case "close":
        if (db?.open === true) db.close()
        return null
    }
  }

  // In a failed transaction: whether the request ends the failure (a rollback to before it), else it is refused.
  const endsFailure = (request: Request, failed: Failure): boolean => {
    if (request.kind !== "unprepared") return false
    if (request.sql === "ROLLBACK") return true
    if (!request.sql.startsWith("ROLLBACK TO SAVEPOINT ")) return false
    const at = savepoints.lastIndexOf(request.sql.slice(22))
    return at >= 0 && failed.depth > at
  }

  const refuse = (request: Request, failed: Failure): Failure => {
    if (request.kind === "unprepared" && request.sql === "COMMIT") {
      if (connection().inTransaction) connection().exec("ROLLBACK")
      savepoints = []
      failure = undefined
    }
    return failed
  }

  const handle = (request: PostedRequest) => {
    let reply: Reply
    if (failure !== undefined && !endsFailure(request, failure)) {
      const error = refuse(request, failure)
      reply = { id: request.id, ok: false, message: error.message, code: error.code }
    } else {
      failure = undefined
      try {
        reply = { id: request.id, ok: true, value: execute(request) }
      } catch (error) {
        if (request.pipelined) failure = { ...errorOf(error), depth: savepoints.length }
        reply = { id: request.id, ok: false, ...errorOf(error) }
      }
    }
    if (!request.pipelined) port.postMessage(reply)
  }

  port.on("message", (requests: ReadonlyArray<PostedRequest>) => {
    for (const request of requests) handle(request)
  })
}

/** What the parent gives a checkpointer thread (see `SqliteCheckpointer.ts`). */
export interface CheckpointerData {
  readonly batchwriteSqliteCheckpointer: true
  /** The path of better-sqlite3's entry. */
  readonly driver: string
  readonly filename: string
  /** The writer's `synchronous`: a checkpoint syncs the files as its connection's setting says. */
  readonly synchronous: string
  /** How long the thread waits before the next checkpoint while the WAL changes. */
  readonly busyMillis: number
  /** How long it waits while the WAL stays as it was. */
  readonly idleMillis: number
}

/**
 * Runs a checkpointer on its own connection: `PRAGMA wal_checkpoint(PASSIVE)` every `busyMillis` while the WAL
 * changes and every `idleMillis` while it does not, so that the pages the writer commits are copied into the
 * database file off the writer's path. A checkpoint that fails (a full disk, a lock) is tried again later: until
 * then the WAL keeps every commit. Runs until the parent terminates the thread (its end closes the connection).
 */
export const checkpoint = (data: CheckpointerData): void => {
  const Database = createRequire(import.meta.url)(data.driver) as new (filename: string) => Connection
  const db = new Database(data.filename)
  db.pragma(`synchronous = ${data.synchronous}`)
  let last = ""
  const step = () => {
    let state = last
    try {
      // One row: the WAL's frames (`log`) and how many of them are in the database file (`checkpointed`).
      state = JSON.stringify(db.pragma("wal_checkpoint(PASSIVE)"))
    } catch {
      // Tried again after the pause: until then the pages stay in the WAL, committed.
    }
    const busy = state !== last
    last = state
    setTimeout(step, busy ? data.busyMillis : data.idleMillis)
  }
  step()
}

const data = workerData as (Partial<ThreadData> & Partial<CheckpointerData>) | null
if (!isMainThread && parentPort !== null && data?.batchwriteSqliteThread === true) serve(parentPort, data as ThreadData)
if (!isMainThread && data?.batchwriteSqliteCheckpointer === true) checkpoint(data as CheckpointerData)
