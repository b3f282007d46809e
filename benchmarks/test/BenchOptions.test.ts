/**
 * `pnpm bench` never starts a run it was not asked for: an unknown option or a bad value, in the local mode and in
 * the deployment mode (`--url`), is an error with the usage and exit code 2, before anything starts.
 */
import { fileURLToPath } from "node:url"
import { runProcess } from "@batchwrite/server/testing/Process"
import { assert, describe, it } from "@effect/vitest"
import { parseOptions } from "../src/BenchOptions.js"

const errorOf = (argv: ReadonlyArray<string>): string => {
  try {
    parseOptions(argv, "/tmp/out")
  } catch (error) {
    return (error as Error).message
  }
  return assert.fail(`no error for ${argv.join(" ")}`)
}

/** `pnpm bench <args>` as the root script runs it (tsx on src/bench.ts), from the package directory. */
const bench = (args: ReadonlyArray<string>) =>
  runProcess(fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url)), [
    "--conditions=@batchwrite/source",
    fileURLToPath(new URL("../src/bench.ts", import.meta.url)),
    ...args
  ])

describe("the local mode's options", () => {
  it("reads the options it knows", () => {
    const options = parseOptions(["--quick", "--sizes", "100,1000", "--connections", "4", "--markdown"], "/tmp/out")
    assert.deepStrictEqual(options.batchSizes, [100, 1_000])
    assert.strictEqual(options.connections, 4)
    assert.isTrue(options.quick)
    const full = parseOptions(["--records", "50000", "--upsert-updates", "0", "--row-timeout", "120"], "/tmp/out")
    assert.strictEqual(full.recordsPerRow, 50_000)
    assert.strictEqual(full.upsertUpdateShare, 0)
    assert.strictEqual(full.rowTimeoutMs, 120_000)
    assert.strictEqual(full.rounds, 3)
    assert.strictEqual(options.rounds, 1)
    const ab = parseOptions(["--rounds", "5", "--serve-args", "--inline-max-records 0"], "/tmp/out")
    assert.strictEqual(ab.rounds, 5)
    assert.deepStrictEqual(ab.serveArgs, ["--inline-max-records", "0"])
  })

  it("an unknown option, a stray argument or a bad value is an error", () => {
    assert.strictEqual(errorOf(["--quik"]), "unknown option '--quik'")
    assert.strictEqual(errorOf(["--rounds", "0"]), "--rounds must be a positive number (got '0')")
    assert.strictEqual(errorOf(["--serve-args", "--quick"]), "--serve-args needs a value")
    assert.strictEqual(errorOf(["--quick", "fast"]), "unexpected argument 'fast' (the options are listed below)")
    assert.match(errorOf(["--sizes=100"]), /write --sizes and its value apart/)
    assert.match(errorOf(["--sizes"]), /--sizes needs a value/)
    assert.match(errorOf(["--sizes", "0"]), /--sizes takes batch sizes from 1 to 10000/)
    assert.match(errorOf(["--connections", "1.5"]), /--connections must be a whole number/)
    assert.match(errorOf(["--workers", "0"]), /--workers must be a positive number/)
    assert.match(errorOf(["--p99-budget", "fast"]), /--p99-budget must be a positive number/)
    assert.match(errorOf(["--backends", "mysql"]), /--backends takes sqlite and\/or postgres/)
    assert.match(errorOf(["--upsert-updates", "1.5"]), /--upsert-updates must be a number from 0 to 1/)
    assert.match(errorOf(["--records", "10.5"]), /--records must be a whole number/)
    assert.match(errorOf(["--row-timeout", "0"]), /--row-timeout must be a positive number/)
  })
})

describe("pnpm bench on the command line", () => {
  it("exits 2 with the usage, and starts nothing, on an unknown option of either mode", async () => {
    const [local, deployment] = await Promise.all([
      bench(["--quik"]),
      bench(["--url", "http://127.0.0.1:9/public/v1", "--token", "t", "--quik"])
    ])
    assert.strictEqual(local.status, 2, local.stderr)
    assert.match(local.stderr, /unknown option '--quik'\n\npnpm bench \[options\]/)
    assert.match(local.stderr, /pnpm bench --url <API URL> --token <token> \[options\]/)
    assert.notMatch(local.stderr + local.stdout, /\[bench\]/, "nothing ran")
    assert.strictEqual(deployment.status, 2, deployment.stderr)
    assert.match(deployment.stderr, /Received unknown argument: '--quik'/)
    assert.match(deployment.stderr, /usage: pnpm bench --url text \[--token redacted\]/)
    assert.notMatch(deployment.stderr + deployment.stdout, /benchmark of/, "nothing ran")
  })

  it("a bad value of the deployment mode is a usage error too", async () => {
    const run = await bench(["--url", "http://127.0.0.1:9/public/v1", "--token", "t", "--connections", "0"])
    assert.strictEqual(run.status, 2, run.stderr)
    assert.match(run.stderr, /pnpm bench: --connections takes whole numbers 1 to 256/)
    assert.match(run.stderr, /usage: pnpm bench --url text/)
  })
})
