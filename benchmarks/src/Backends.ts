/**
 * The storage backends a run covers: SQLite always (a fresh file), PostgreSQL when a server answers on
 * 127.0.0.1:5432 and `createdb` can make fresh databases for the run (dropped afterwards). Whether the service
 * itself supports PostgreSQL is learnt by starting it: a service that refuses the URL is skipped with a note.
 * Each backend also gives the storage ceiling fresh, migrated storages of its own: for SQLite one with the
 * connection on a worker thread (the service's default) and one on the calling thread, as the better of the two is
 * the ceiling (the service must not look better only because its connection got slower). The database ceiling and
 * the synchronous baseline get databases of their own on the same backend (`plainDatabase`).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Database } from "@batchwrite/server"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Layer } from "effect"

/** A fresh storage and how to remove it. */
export interface FreshStorage {
  readonly layer: Layer.Layer<SqlClient.SqlClient, unknown>
  readonly dispose: () => void
}

/** How a backend's storage can be connected to: SQLite's connection on a worker thread or on the calling thread. */
export type Connection = "worker-thread" | "main-thread" | "pool"

/** A backend to run: its name and the `--database` value (`undefined`: a fresh SQLite file). */
export interface Backend {
  readonly name: string
  readonly database: string | undefined
  /** The connections the storage ceiling is measured with (the best counts). */
  readonly connections: ReadonlyArray<Connection>
  /** A fresh storage for the storage ceiling, migrated like the service's. */
  readonly freshStorage: (connection: Connection) => FreshStorage
  /**
   * An empty database of this backend for the database ceiling or the synchronous baseline (batchwrite never
   * touches it): `sqlite:<file>` or a `postgres://` URL, and how to remove it.
   */
  readonly plainDatabase: (purpose: "direct" | "sync") => { readonly target: string; readonly dispose: () => void }
  /** Removes what the backend created for the run. */
  readonly dispose: () => void
}

const freshSqlite = (connection: Connection): FreshStorage => {
  const directory = mkdtempSync(join(tmpdir(), "batchwrite-ceiling-"))
  return {
    layer: Database.sqlite({
      filename: join(directory, "ceiling.db"),
      executor: connection === "main-thread" ? "main-thread" : "worker-thread"
    }),
    dispose: () => rmSync(directory, { recursive: true, force: true })
  }
}

const reachable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.setTimeout(1_000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

/** Databases this run created and has not dropped yet: dropped on exit too, even when the run is interrupted. */
const createdDatabases = new Set<string>()
const user = ["-h", "127.0.0.1", "-U", "postgres"]
process.once("exit", () => {
  for (const database of createdDatabases) run("dropdb", [...user, "--force", "--if-exists", database])
})

const createDatabase = (database: string): boolean => {
  if (!run("createdb", [...user, database])) return false
  createdDatabases.add(database)
  return true
}

const dropDatabase = (database: string) => {
  run("dropdb", [...user, "--force", "--if-exists", database])
  createdDatabases.delete(database)
}

const run = (command: string, args: ReadonlyArray<string>): boolean => {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 15_000 })
    return true
  } catch {
    return false
  }
}

/** The backends of this machine, and notes on the ones left out. */
export const detectBackends = async (
  wanted: ReadonlyArray<"sqlite" | "postgres">
): Promise<{ backends: Array<Backend>; notes: Array<string> }> => {
  const backends: Array<Backend> = wanted.includes("sqlite")
    ? [
        {
          name: "sqlite",
          database: undefined,
          connections: ["worker-thread", "main-thread"],
          freshStorage: freshSqlite,
          plainDatabase: (purpose) => {
            const directory = mkdtempSync(join(tmpdir(), `batchwrite-${purpose}-`))
            return {
              target: `sqlite:${join(directory, `${purpose}.db`)}`,
              dispose: () => rmSync(directory, { recursive: true, force: true })
            }
          },
          dispose: () => {}
        }
      ]
    : []
  const notes: Array<string> = []
  if (!wanted.includes("postgres")) {
    notes.push("PostgreSQL not run (not in --backends; --quick runs SQLite only)")
    return { backends, notes }
  }
  if (!(await reachable(5432))) {
    notes.push("PostgreSQL skipped: nothing answers on 127.0.0.1:5432")
    return { backends, notes }
  }
  const name = `batchwrite_bench_${process.pid}_${Date.now()}`
  if (!createDatabase(name)) {
    notes.push("PostgreSQL skipped: `createdb` could not create a database for the run")
    return { backends, notes }
  }
  let ceilings = 0
  backends.push({
    name: "postgres",
    database: `postgres://postgres@127.0.0.1:5432/${name}`,
    connections: ["pool"],
    freshStorage: () => {
      const database = `${name}_ceiling_${++ceilings}`
      if (!createDatabase(database)) throw new Error(`createdb ${database} failed`)
      return {
        layer: Database.postgres({ url: `postgres://postgres@127.0.0.1:5432/${database}`, poolSize: 2 }),
        dispose: () => dropDatabase(database)
      }
    },
    plainDatabase: (purpose) => {
      const database = `${name}_${purpose}`
      if (!createDatabase(database)) throw new Error(`createdb ${database} failed`)
      return { target: `postgres://postgres@127.0.0.1:5432/${database}`, dispose: () => dropDatabase(database) }
    },
    dispose: () => dropDatabase(name)
  })
  return { backends, notes }
}
