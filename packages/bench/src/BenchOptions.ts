/**
 * The command line of a deployment benchmark, as `@effect/cli` options: the same options, help and checks for
 * `batchwrite bench` and for `pnpm bench --url …`. `@effect/cli` rejects unknown flags and values of the wrong kind;
 * {@link planOf} checks the rest (lists, ranges, flags that need each other) with {@link makePlan}.
 */
import { Options } from "@effect/cli"
import type { Either, Option } from "effect"
import { type BenchPlan, defaults, makePlan, type PlanError, type PlanFlags } from "./BenchPlan.js"

/** What the command does, for its help. */
export const benchDescription =
  "Measure a running batchwrite deployment over its public API and recommend batch sizes and connections for an " +
  "accept-latency p99 budget. For each operation, batch size and connection count, a bounded run (--duration " +
  "seconds, --records records) records accept latency p50/p90/p99/max, accepted and committed records/s (from " +
  "the jobs), job latency, answers by status and errors; 429s are counted and their Retry-After honoured. Then a " +
  "client sweep sends records through the toolkit's write and RecordBuffer over a grid of maxRecords × " +
  "concurrency (× maxAge). Writes into a new object bench_<time> (needs the admin scope), or appends into " +
  "--object, or upserts into it with --match-key; says how many records it wrote. Prints a table and one " +
  "recommendation line per operation; writes results.json and results.svg to --out; progress on stderr.\n" +
  "Example: batchwrite bench --url https://batchwrite.internal/public/v1 --token $T --p99-budget 200"

/** The options of the benchmark (the URL, token and `--json` come from the command that runs it). */
export const benchOptions = {
  object: Options.text("object").pipe(
    Options.optional,
    Options.withDescription(
      "Write into this existing object instead of creating bench_<time> (appends; upserts with --match-key). No admin scope needed"
    )
  ),
  matchKey: Options.text("match-key").pipe(
    Options.optional,
    Options.withDescription("With --object: upsert by this match key of the object instead of appending")
  ),
  operations: Options.text("operations").pipe(
    Options.optional,
    Options.withDescription(
      "append-batch, upsert-batch or both (default both), into the object the run creates; not with --object"
    )
  ),
  sizes: Options.text("sizes").pipe(
    Options.withDefault(defaults.sizes),
    Options.withDescription(`Batch sizes, comma-separated, 1 to 10000 (default ${defaults.sizes})`)
  ),
  connections: Options.text("connections").pipe(
    Options.withDefault(defaults.connections),
    Options.withDescription(`Connection counts, comma-separated, 1 to 256 (default ${defaults.connections})`)
  ),
  duration: Options.float("duration").pipe(
    Options.withDefault(defaults.duration),
    Options.withDescription(`Seconds each row (and each client cell) sends at most (default ${defaults.duration})`)
  ),
  records: Options.integer("records").pipe(
    Options.withDefault(defaults.records),
    Options.withDescription(`Records each row (and each client cell) sends at most (default ${defaults.records})`)
  ),
  jobTimeout: Options.float("job-timeout").pipe(
    Options.withDefault(defaults.jobTimeout),
    Options.withDescription(
      `Seconds a row's jobs may take after its load before the row counts as failed (default ${defaults.jobTimeout})`
    )
  ),
  p99Budget: Options.float("p99-budget").pipe(
    Options.withDefault(defaults.p99Budget),
    Options.withDescription(
      `The accept-latency p99 budget of the recommendation, in ms (default ${defaults.p99Budget})`
    )
  ),
  clientSizes: Options.text("client-sizes").pipe(
    Options.withDefault(defaults.clientSizes),
    Options.withDescription(`Client sweep: maxRecords values, comma-separated (default ${defaults.clientSizes})`)
  ),
  clientConcurrency: Options.text("client-concurrency").pipe(
    Options.withDefault(defaults.clientConcurrency),
    Options.withDescription(`Client sweep: concurrency values, comma-separated (default ${defaults.clientConcurrency})`)
  ),
  maxAge: Options.text("max-age").pipe(
    Options.withDefault(defaults.maxAge),
    Options.withDescription(
      `Client sweep: the RecordBuffer's maxAge values in seconds, comma-separated (default ${defaults.maxAge})`
    )
  ),
  noClientSweep: Options.boolean("no-client-sweep").pipe(Options.withDescription("Skip the client sweep")),
  out: Options.text("out").pipe(
    Options.withDefault(defaults.out),
    Options.withDescription(`Directory for results.json and results.svg (default ./${defaults.out})`)
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Print the plan and send nothing"))
}

/** The values of {@link benchOptions} once parsed: the plan's flags, an absent option as `None`. */
export type BenchOptionValues = {
  readonly [K in keyof Omit<PlanFlags, "url" | "now">]: undefined extends PlanFlags[K]
    ? Option.Option<Exclude<PlanFlags[K], undefined>>
    : PlanFlags[K]
}

const orUndefined = <A>(option: Option.Option<A>): A | undefined => (option._tag === "Some" ? option.value : undefined)

/** The plan of the parsed options against the API URL `url`, or what is wrong with them. */
export const planOf = (
  values: BenchOptionValues,
  url: string,
  now: Date = new Date()
): Either.Either<BenchPlan, PlanError> =>
  makePlan({
    url,
    object: orUndefined(values.object),
    matchKey: orUndefined(values.matchKey),
    operations: orUndefined(values.operations),
    sizes: values.sizes,
    connections: values.connections,
    duration: values.duration,
    records: values.records,
    jobTimeout: values.jobTimeout,
    p99Budget: values.p99Budget,
    clientSizes: values.clientSizes,
    clientConcurrency: values.clientConcurrency,
    maxAge: values.maxAge,
    noClientSweep: values.noClientSweep,
    out: values.out,
    dryRun: values.dryRun,
    now
  })
