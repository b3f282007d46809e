/**
 * How many nodes share the storage, said once where the database is configured (`Database.sqlite` is one node,
 * `Database.postgres` any number): the decisions that depend on it read it here, instead of inferring it from the
 * SQL dialect.
 *
 * - `single-node`: this process is the only one using the database. What it finds in progress at start-up is its own,
 *   left by a crash (jobs `processing`, idempotency keys `in_progress`), and nothing else writes object definitions,
 *   so they can be cached; rate-limit buckets live in memory.
 * - `shared-storage`: other nodes use the database at the same time. Only work whose lease ran out is recovered,
 *   object definitions are read from the database every time, and rate-limit buckets are rows every node shares.
 */
import { Context, Layer } from "effect"

/** The topology of the storage. */
export class Topology extends Context.Tag("server/Topology")<Topology, "single-node" | "shared-storage">() {
  /** One node on its own database. */
  static readonly singleNode = Layer.succeed(Topology, "single-node")
  /** Any number of nodes on one database. */
  static readonly sharedStorage = Layer.succeed(Topology, "shared-storage")
}
