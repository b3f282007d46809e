/**
 * Telling a failure of the database (unreachable, full disk, a killed connection) from other failures, and a fault of
 * the storage's environment, which passes (a full disk, a lost connection, a lock), from a fault of the statement,
 * which would fail again the same way.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Effect, Option } from "effect"

/** The error of the database a cause holds, as a failure or as a defect (repositories `orDie` them). */
export const storageFaultOf = (cause: Cause.Cause<unknown>): Option.Option<SqlError> =>
  Cause.reduce(cause, Option.none<SqlError>(), (found, part) =>
    Option.isSome(found)
      ? Option.none()
      : part._tag === "Fail" && part.error instanceof SqlError
        ? Option.some(Option.some(part.error))
        : part._tag === "Die" && part.defect instanceof SqlError
          ? Option.some(Option.some(part.defect))
          : Option.none()
  )

/** Whether the cause holds an error of the database, as a failure or as a defect. */
export const isStorageFault = (cause: Cause.Cause<unknown>): boolean => Option.isSome(storageFaultOf(cause))

/**
 * SQLite result codes of the environment: the disk is full, an I/O error, the file cannot be opened or written, a
 * lock held too long, no memory.
 */
const transientSqliteCode = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM|PROTOCOL)/

/**
 * SQLSTATE classes of PostgreSQL's environment: 08 connection exception, 40 transaction rollback (serialization,
 * deadlock), 53 insufficient resources (disk full, out of memory, too many connections), 57 operator intervention
 * (shutdown, cancelled), 58 system error (I/O); and 25006, a database that takes no writes now (read-only: a standby
 * after a failover, `default_transaction_read_only`).
 */
const transientSqlState = /^(?:(08|40|53|57|58)[0-9A-Z]{3}|25006)$/

/**
 * Whether a database error is a fault of the storage's environment that passes when the storage recovers: a full
 * disk, an I/O error, a lost or refused connection (no error code, or a Node `E…` code), a stopped SQLite thread, a lock, a shutdown. Not an error
 * of the statement or its values (a constraint, a value the database refuses, a missing table), which repeats.
 */
export const isTransientFault = (error: SqlError): boolean => {
  // The driver refusing a statement's parameters (too many, a type it cannot bind) is the statement's fault.
  if (error.cause instanceof TypeError || error.cause instanceof RangeError) return false
  const code = (error.cause as { readonly code?: unknown } | null | undefined)?.code
  if (typeof code !== "string") return true
  return transientSqliteCode.test(code) || transientSqlState.test(code) || /^E[A-Z]+$/.test(code)
}

/** Answers `effect`'s SQL errors as defects: a statement of a repository that fails is not its caller's to handle. */
export const dieOnSqlError = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
  Effect.catchIf(
    effect,
    (error): error is Extract<E, SqlError> => error instanceof SqlError,
    Effect.die
  ) as Effect.Effect<A, Exclude<E, SqlError>, R>
