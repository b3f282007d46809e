/**
 * What a deployment benchmark runs: the batch sizes, connection counts and operations of the server sweep, the bound
 * of each row (seconds and records), the object it writes into, the client sweep's grid, the p99 budget and where
 * the results go. Built from the command line's raw values by {@link makePlan}, which checks every one of them and
 * answers a {@link PlanError} saying what is wrong before anything is sent.
 */
import { ObjectSchema } from "@batchwrite/core"
import { Data, Either } from "effect"

/** A batch operation of the API. */
export type BatchOperation = "append-batch" | "upsert-batch"

/** A flag had a bad value, or flags do not go together. */
export class PlanError extends Data.TaggedError("PlanError")<{ readonly message: string }> {}

/** Where the records go: an object the run creates (admin scope), or one that exists. */
export type Target =
  | { readonly _tag: "Create"; readonly objectName: string }
  | { readonly _tag: "Existing"; readonly objectName: string; readonly matchKey: string | undefined }

/** The client sweep: `write` and `RecordBuffer` over a grid of settings. */
export interface ClientGrid {
  readonly maxRecords: ReadonlyArray<number>
  readonly concurrency: ReadonlyArray<number>
  /** The buffer's `maxAge` values, in milliseconds. */
  readonly maxAgeMs: ReadonlyArray<number>
}

/** Everything a run does. */
export interface BenchPlan {
  /** The API URL, ending in `/public/v1`. */
  readonly url: string
  readonly target: Target
  readonly operations: ReadonlyArray<BatchOperation>
  readonly batchSizes: ReadonlyArray<number>
  readonly connections: ReadonlyArray<number>
  /** How long each row sends, at most. */
  readonly durationMs: number
  /** How many records each row sends, at most. */
  readonly recordsPerRow: number
  /** How long a row's jobs may take after its last answer. */
  readonly jobTimeoutMs: number
  readonly p99BudgetMs: number
  /** `undefined`: no client sweep. */
  readonly client: ClientGrid | undefined
  readonly outDir: string
  readonly dryRun: boolean
}

/** The defaults of the flags, for the help text and the plan. */
export const defaults = {
  sizes: "100,1000,2000,5000,10000",
  connections: "1,4,8",
  duration: 5,
  records: 200_000,
  jobTimeout: 120,
  p99Budget: 200,
  clientSizes: "500,2000,10000",
  clientConcurrency: "1,4",
  maxAge: "1",
  out: "batchwrite-bench"
} as const

/** The raw values of the flags, as the command line gives them. */
export interface PlanFlags {
  readonly url: string
  readonly object: string | undefined
  readonly matchKey: string | undefined
  readonly operations: string | undefined
  readonly sizes: string
  readonly connections: string
  readonly duration: number
  readonly records: number
  readonly jobTimeout: number
  readonly p99Budget: number
  readonly clientSizes: string
  readonly clientConcurrency: string
  readonly maxAge: string
  readonly noClientSweep: boolean
  readonly out: string
  readonly dryRun: boolean
  /** When the run starts: names the object it creates. */
  readonly now: Date
}

const fail = (message: string) => Either.left(new PlanError({ message }))

/** A comma-separated list of numbers, each checked by `valid`; duplicates removed, ascending. */
const numberList = (
  flag: string,
  text: string,
  valid: (n: number) => boolean,
  what: string
): Either.Either<ReadonlyArray<number>, PlanError> => {
  const parts = text.split(",").map((part) => part.trim())
  const numbers: Array<number> = []
  for (const part of parts) {
    const n = part === "" ? Number.NaN : Number(part)
    if (!valid(n)) return fail(`--${flag} takes ${what}, comma-separated (got '${part}' in '${text}')`)
    numbers.push(n)
  }
  return Either.right(Array.from(new Set(numbers)).sort((a, b) => a - b))
}

const integerIn = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max

const positiveAtMost = (flag: string, value: number, max: number, unit: string) =>
  Number.isFinite(value) && value > 0 && value <= max
    ? Either.right(value)
    : fail(`--${flag} must be a number above 0 and at most ${max}${unit} (got ${value})`)

/** The name of the object a run creates: `bench_<UTC date>_<UTC time>`. */
export const benchObjectName = (now: Date): string =>
  `bench_${now.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "_")}`

/** Checks every flag and builds the plan. */
export const makePlan = (flags: PlanFlags): Either.Either<BenchPlan, PlanError> =>
  Either.gen(function* () {
    const parsedUrl = URL.canParse(flags.url) ? new URL(flags.url) : undefined
    if (parsedUrl === undefined || (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:")) {
      return yield* fail(`--url must be an http(s) URL like http://127.0.0.1:8787/public/v1 (got '${flags.url}')`)
    }
    if (flags.object !== undefined && !ObjectSchema.objectNamePattern.test(flags.object)) {
      return yield* fail(
        `--object must be an object name (${ObjectSchema.objectNamePattern.source}), got '${flags.object}'`
      )
    }
    if (flags.matchKey !== undefined && flags.object === undefined) {
      return yield* fail("--match-key needs --object: it names the match key of that object to upsert by")
    }
    if (flags.matchKey !== undefined && !ObjectSchema.fieldNamePattern.test(flags.matchKey)) {
      return yield* fail(`--match-key must be a field name, got '${flags.matchKey}'`)
    }
    if (flags.object !== undefined && flags.operations !== undefined) {
      return yield* fail(
        "--operations applies to the object the run creates; with --object the run appends, or upserts with --match-key"
      )
    }
    const operations: ReadonlyArray<BatchOperation> =
      flags.object !== undefined
        ? [flags.matchKey === undefined ? "append-batch" : "upsert-batch"]
        : yield* operationList(flags.operations ?? "append-batch,upsert-batch")
    const batchSizes = yield* numberList("sizes", flags.sizes, integerIn(1, 10_000), "batch sizes from 1 to 10000")
    const connections = yield* numberList("connections", flags.connections, integerIn(1, 256), "whole numbers 1 to 256")
    const durationSec = yield* positiveAtMost("duration", flags.duration, 3_600, " seconds")
    if (!integerIn(1, 100_000_000)(flags.records)) {
      return yield* fail(`--records must be a whole number from 1 to 100000000 (got ${flags.records})`)
    }
    const jobTimeoutSec = yield* positiveAtMost("job-timeout", flags.jobTimeout, 3_600, " seconds")
    const p99BudgetMs = yield* positiveAtMost("p99-budget", flags.p99Budget, 600_000, " ms")
    const client = flags.noClientSweep
      ? undefined
      : {
          maxRecords: yield* numberList(
            "client-sizes",
            flags.clientSizes,
            integerIn(1, 10_000),
            "maxRecords values from 1 to 10000"
          ),
          concurrency: yield* numberList(
            "client-concurrency",
            flags.clientConcurrency,
            integerIn(1, 64),
            "whole numbers 1 to 64"
          ),
          maxAgeMs: (yield* numberList(
            "max-age",
            flags.maxAge,
            (n) => Number.isFinite(n) && n > 0 && n <= 60,
            "seconds above 0 and at most 60"
          )).map((seconds) => Math.round(seconds * 1000))
        }
    if (flags.out.trim() === "") return yield* fail("--out must name a directory")
    return {
      url: flags.url,
      target:
        flags.object === undefined
          ? { _tag: "Create", objectName: benchObjectName(flags.now) }
          : { _tag: "Existing", objectName: flags.object, matchKey: flags.matchKey },
      operations,
      batchSizes,
      connections,
      durationMs: Math.round(durationSec * 1000),
      recordsPerRow: flags.records,
      jobTimeoutMs: Math.round(jobTimeoutSec * 1000),
      p99BudgetMs,
      client,
      outDir: flags.out,
      dryRun: flags.dryRun
    } satisfies BenchPlan
  })

const operationList = (text: string): Either.Either<ReadonlyArray<BatchOperation>, PlanError> => {
  const operations: Array<BatchOperation> = []
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part !== "append-batch" && part !== "upsert-batch") {
      return fail(`--operations takes append-batch and/or upsert-batch (got '${part}')`)
    }
    if (!operations.includes(part)) operations.push(part)
  }
  return Either.right(operations)
}

/** The server sweep's rows, in the order they run. */
export const rowsOf = (
  plan: BenchPlan
): ReadonlyArray<{ readonly operation: BatchOperation; readonly batchSize: number; readonly connections: number }> =>
  plan.operations.flatMap((operation) =>
    plan.batchSizes.flatMap((batchSize) =>
      plan.connections.map((connections) => ({ operation, batchSize, connections }))
    )
  )

/** The client sweep's cells, in the order they run. */
export const clientCellsOf = (
  plan: BenchPlan
): ReadonlyArray<{
  readonly tool: "write" | "RecordBuffer"
  readonly operation: BatchOperation
  readonly maxRecords: number
  readonly concurrency: number
  readonly maxAgeMs: number | null
}> => {
  const grid = plan.client
  if (grid === undefined) return []
  return plan.operations.flatMap((operation) => [
    ...grid.maxRecords.flatMap((maxRecords) =>
      grid.concurrency.map((concurrency) => ({
        tool: "write" as const,
        operation,
        maxRecords,
        concurrency,
        maxAgeMs: null
      }))
    ),
    ...grid.maxRecords.flatMap((maxRecords) =>
      // An upsert buffer flushes one group at a time whatever its concurrency: one cell per maxRecords and maxAge.
      (operation === "upsert-batch" ? [1] : grid.concurrency).flatMap((concurrency) =>
        grid.maxAgeMs.map((maxAgeMs) => ({
          tool: "RecordBuffer" as const,
          operation,
          maxRecords,
          concurrency,
          maxAgeMs
        }))
      )
    )
  ])
}
