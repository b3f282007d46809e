/**
 * The command line of `pnpm bench`: the full run by default, `--quick` for a run within about two minutes (four batch
 * sizes, fewer records per row, a smaller job sample), and the settings both share.
 */

/** What one run measures. */
export interface BenchOptions {
  readonly quick: boolean
  readonly batchSizes: ReadonlyArray<number>
  /** Records each row sends (the number of requests is this over the batch size, within the bounds below). */
  readonly recordsPerRow: number
  /** The share of upsert records (after a row's first batch) that update a key of an earlier batch of the row. */
  readonly upsertUpdateShare: number
  readonly minRequests: number
  readonly maxRequests: number
  /** Requests of the single-record row. */
  readonly singleRecordRequests: number
  readonly connections: number
  readonly workers: number
  readonly p99BudgetMs: number
  /** How long a row's jobs may take after its last answer; past it the row is flagged and its backend stopped. */
  readonly rowTimeoutMs: number
  /** How many jobs per row are read for the job-latency percentiles. */
  readonly jobSample: number
  /** Batches of 10,000 records timed for each storage ceiling (in 3 rounds, after 2 of warm-up). */
  readonly ceilingBatches: number
  /** How many times each row is measured, service, baseline and ceiling in turn; the medians are reported. */
  readonly rounds: number
  /** More arguments of `batchwrite serve` (an A/B of its settings). */
  readonly serveArgs: ReadonlyArray<string>
  /** Where to write the `.cpuprofile` of the service, when profiling. */
  readonly cpuProfileDir: string | undefined
  /** The storage backends to run (PostgreSQL only when reachable and supported by the service). */
  readonly backends: ReadonlyArray<"sqlite" | "postgres">
  /** Only these operations (default both). */
  readonly operations: ReadonlyArray<"append-batch" | "upsert-batch">
  readonly outDir: string
}

export const allBatchSizes: ReadonlyArray<number> = [1, 10, 50, 100, 500, 1_000, 2_000, 5_000, 10_000]
export const quickBatchSizes: ReadonlyArray<number> = [10, 100, 1_000, 10_000]

export const usage = `pnpm bench [options]            (from the repository root; or pnpm --filter @batchwrite/benchmarks bench)

Starts a fresh \`batchwrite serve\` per backend (SQLite; PostgreSQL when reachable and supported) from the built CLI
(apps/cli/dist/bin.js), drives it with autocannon for each batch size, for append-batch and upsert-batch (upserts
that merge) and the single-record endpoint. After each row the same records are written straight into the database
(the database ceiling) and the same bodies go through a plain synchronous HTTP → database service (the synchronous
baseline); the service's storage code ceiling and the HTTP ceiling are measured in the same run. Prints a table
with the ratios and the targets of issue 13, and writes benchmarks/results/latest.json and latest.svg.

  --quick              SQLite only; batch sizes ${quickBatchSizes.join(", ")}; ~100,000 records per row (16–2,000 requests),
                       300 jobs sampled per row, 9 timed storage-ceiling batches: about 2 minutes on a 2-core machine
                       (the full run: sizes ${allBatchSizes.join(", ")}; ~300,000 records per row
                       (40–3,000 requests), 1,000 jobs sampled, 24 storage-ceiling batches; SQLite and PostgreSQL)
  A row whose jobs are not all terminal 90 s (--quick: 30 s) after its last answer is flagged as an error, and
  the rest of that backend is skipped (a backlog would distort every later row).

  --p99-budget <ms>    accept-latency p99 budget for the recommended batch size (default 200)
  --sizes <a,b,…>      batch sizes to run instead
  --backends <a,b>     sqlite, postgres or both (default both; --quick: sqlite only). PostgreSQL runs when
                       127.0.0.1:5432 answers, \`createdb\` works and the service accepts a postgres:// database
  --operations <a,b>   append-batch, upsert-batch or both (default both)
  --records <n>        records per row (default 300,000; --quick: 100,000), within the request bounds above
  --row-timeout <s>    how long a row's jobs may take after its last answer (default 90; --quick: 30)
  --upsert-updates <s> share of upsert records (after a row's first batch) updating a key of an earlier batch of
                       the row, a third of them with every field and the rest partial (default 0.5; 0: all inserts)
  --rounds <n>         measure each row n times, the service, the baseline and the database ceiling in turn, and
                       report the median of the rounds' ratios (default 3; --quick: 1)
  --serve-args "<args>" more arguments of \`batchwrite serve\`, e.g. "--inline-max-records 0" (an A/B of a setting)
  --connections <n>    autocannon connections (default 8)
  --workers <n>        the service's --workers (default 2)
  --cpu-prof <dir>     run the service under node --cpu-prof, writing its .cpuprofile to <dir>
  --out <dir>          where latest.json and latest.svg go (default benchmarks/results)
  --markdown           print the table as Markdown (for the README)
  --help               this text

Unknown options and bad values are an error (exit 2) and nothing runs.

pnpm bench --url <API URL> --token <token> [options]
  measures an existing deployment instead (no service is started): the same command as \`batchwrite bench\`, with
  the same options (--sizes, --connections, --duration, --p99-budget, --object, --match-key, --dry-run, …);
  \`pnpm bench --url <API URL> --help\` lists them.
`

/** The flags of the local mode that stand alone. */
const switches: ReadonlySet<string> = new Set(["--quick", "--markdown", "--help", "-h"])
/** The flags of the local mode that take a value. */
const valued: ReadonlySet<string> = new Set([
  "--p99-budget",
  "--sizes",
  "--backends",
  "--operations",
  "--connections",
  "--workers",
  "--cpu-prof",
  "--out",
  "--records",
  "--upsert-updates",
  "--row-timeout",
  "--rounds",
  "--serve-args"
])

/** Every argument must be a flag of the local mode (with its value): anything else is an error, never ignored. */
const checkArguments = (argv: ReadonlyArray<string>) => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (switches.has(arg)) continue
    if (valued.has(arg)) {
      i++
      continue
    }
    const name = arg.split("=")[0]!
    if (arg.includes("=") && valued.has(name)) {
      throw new Error(`write ${name} and its value apart: ${name} <value> (got '${arg}')`)
    }
    throw new Error(
      arg.startsWith("-") ? `unknown option '${arg}'` : `unexpected argument '${arg}' (the options are listed below)`
    )
  }
}

/** The value of `--name`; one that is itself flags (`--serve-args`) may start with `--` if it has a space. */
const value = (argv: ReadonlyArray<string>, name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`)
  if (at < 0) return undefined
  const next = argv[at + 1]
  const flags = name === "serve-args" && next?.includes(" ") === true
  if (next === undefined || (next.startsWith("--") && !flags)) throw new Error(`--${name} needs a value`)
  return next
}

const positive = (argv: ReadonlyArray<string>, name: string, fallback: number): number => {
  const text = value(argv, name)
  if (text === undefined) return fallback
  const number = text.trim() === "" ? Number.NaN : Number(text)
  if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name} must be a positive number (got '${text}')`)
  return number
}

const wholePositive = (argv: ReadonlyArray<string>, name: string, fallback: number): number => {
  const number = positive(argv, name, fallback)
  if (!Number.isInteger(number)) throw new Error(`--${name} must be a whole number (got '${value(argv, name)}')`)
  return number
}

const share = (argv: ReadonlyArray<string>, name: string, fallback: number): number => {
  const text = value(argv, name)
  if (text === undefined) return fallback
  const number = text.trim() === "" ? Number.NaN : Number(text)
  if (!Number.isFinite(number) || number < 0 || number > 1) {
    throw new Error(`--${name} must be a number from 0 to 1 (got '${text}')`)
  }
  return number
}

/** The arguments of `--serve-args "<args>"`, split at spaces (the bench and the overload pass them to `serve`). */
export const serveArgumentsOf = (text: string | undefined): ReadonlyArray<string> =>
  (text ?? "").split(" ").filter((arg) => arg !== "")

/** Reads the options; throws with a message on bad usage (an unknown option, a missing or bad value). */
export const parseOptions = (argv: ReadonlyArray<string>, defaultOutDir: string): BenchOptions => {
  checkArguments(argv)
  const quick = argv.includes("--quick")
  const sizes = value(argv, "sizes")
  const batchSizes =
    sizes === undefined
      ? quick
        ? quickBatchSizes
        : allBatchSizes
      : sizes.split(",").map((text) => {
          const size = text.trim() === "" ? Number.NaN : Number(text)
          if (!Number.isInteger(size) || size < 1 || size > 10_000) {
            throw new Error(`--sizes takes batch sizes from 1 to 10000 (got '${text}')`)
          }
          return size
        })
  const operations = (value(argv, "operations") ?? "append-batch,upsert-batch").split(",").map((text) => {
    if (text !== "append-batch" && text !== "upsert-batch") {
      throw new Error(`--operations takes append-batch and/or upsert-batch (got '${text}')`)
    }
    return text
  })
  const backends = (value(argv, "backends") ?? (quick ? "sqlite" : "sqlite,postgres")).split(",").map((text) => {
    if (text !== "sqlite" && text !== "postgres") {
      throw new Error(`--backends takes sqlite and/or postgres (got '${text}')`)
    }
    return text
  })
  return {
    quick,
    backends,
    batchSizes,
    recordsPerRow: wholePositive(argv, "records", quick ? 100_000 : 300_000),
    upsertUpdateShare: share(argv, "upsert-updates", 0.5),
    minRequests: quick ? 16 : 40,
    maxRequests: quick ? 2_000 : 3_000,
    singleRecordRequests: quick ? 2_000 : 3_000,
    connections: wholePositive(argv, "connections", 8),
    workers: wholePositive(argv, "workers", 2),
    p99BudgetMs: positive(argv, "p99-budget", 200),
    jobSample: quick ? 300 : 1_000,
    rowTimeoutMs: positive(argv, "row-timeout", quick ? 30 : 90) * 1000,
    ceilingBatches: quick ? 9 : 24,
    rounds: wholePositive(argv, "rounds", quick ? 1 : 3),
    serveArgs: serveArgumentsOf(value(argv, "serve-args")),
    cpuProfileDir: value(argv, "cpu-prof"),
    operations,
    outDir: value(argv, "out") ?? defaultOutDir
  }
}

/** How many requests a row at `batchSize` sends. */
export const requestsFor = (options: BenchOptions, batchSize: number): number =>
  Math.max(options.minRequests, Math.min(options.maxRequests, Math.round(options.recordsPerRow / batchSize)))
