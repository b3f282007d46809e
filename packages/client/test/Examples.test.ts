/**
 * Runs each example of `examples/` as its own process (tsx) against the real service, as a user would, and checks
 * what it printed and what it stored.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { RecordsClient } from "../src/RecordsClient.js"
import { clientLayer, RealService, token } from "./support/RealService.js"

const tsx = join(import.meta.dirname, "..", "node_modules", ".bin", "tsx")
/** The workspace's packages from their sources, as in the tests (no build needed). */
const sourceConditions = ["--conditions=@batchwrite/source"]

interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly stderr: string }>
}

const start = (origin: string, example: string, args: ReadonlyArray<string> = []): Run => {
  const child = spawn(tsx, [...sourceConditions, join(import.meta.dirname, "..", "examples", example), ...args], {
    env: { ...process.env, BATCHWRITE_URL: `${origin}/public/v1`, BATCHWRITE_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stderr }))
  )
  return { child, stdout: () => stdout, exited }
}

const lines = (run: Run) =>
  run
    .stdout()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

const finish = (run: Run) =>
  Effect.promise(() => run.exited).pipe(
    Effect.tap(({ code, stderr }) => Effect.sync(() => assert.strictEqual(code, 0, stderr))),
    Effect.map(() => lines(run))
  )

layer(clientLayer(), { excludeTestServices: true, timeout: 60_000 })("examples", (it) => {
  it.effect("QueueConsumer: acknowledges after the 202; a redelivered group is replayed, not written twice", () =>
    Effect.gen(function* () {
      const { origin } = yield* RealService
      const directory = mkdtempSync(join(tmpdir(), "batchwrite-queue-"))
      const file = join(directory, "dead.ndjson")
      const [result] = yield* finish(start(origin, "QueueConsumer.ts", [file]))
      const deadLetters = readFileSync(file, "utf8").trimEnd().split("\n")
      rmSync(directory, { recursive: true, force: true })
      // every message acknowledged once its record was accepted; the ten whose acknowledgement was lost came back
      assert.strictEqual(result!.acknowledged, 25)
      assert.isAtLeast(result!.deliveries as number, 35)
      // the redelivered group had the same key: the service answered with the same job
      assert.strictEqual(result!.jobs, 3)
      assert.isAtLeast(result!.deadLettered as number, 1)
      assert.isTrue(deadLetters.every((line) => JSON.parse(line).record.user_id === "queue-user-13"))
      const client = yield* RecordsClient
      const rows = yield* Stream.runCollect(client.allRecords("events"))
      const users = [...rows].map((row) => String(row.user_id)).filter((user) => user.startsWith("queue-user-"))
      assert.strictEqual(users.length, 24)
      assert.strictEqual(new Set(users).size, 24)
    })
  )

  it.effect("ScheduledSync: upserts on a schedule and dead-letters the bad row to a file", () =>
    Effect.gen(function* () {
      const { origin } = yield* RealService
      const directory = mkdtempSync(join(tmpdir(), "batchwrite-sync-"))
      const file = join(directory, "dead.ndjson")
      const runs = yield* finish(start(origin, "ScheduledSync.ts", [file]))
      const deadLetters = readFileSync(file, "utf8").trimEnd().split("\n")
      rmSync(directory, { recursive: true, force: true })
      assert.deepStrictEqual(
        runs.map(({ run, inserted, updated, invalid }) => [run, inserted, updated, invalid]),
        [
          [0, 39, 0, 1],
          [1, 0, 39, 1],
          [2, 0, 39, 1]
        ]
      )
      assert.strictEqual(deadLetters.length, 3)
      assert.strictEqual(JSON.parse(deadLetters[0]!).record.email, "customer-13-at-example.com")
    })
  )

  it.effect("BufferedApp: SIGTERM flushes every buffered event before exiting", () =>
    Effect.gen(function* () {
      const { origin } = yield* RealService
      const directory = mkdtempSync(join(tmpdir(), "batchwrite-buffered-"))
      const run = start(origin, "BufferedApp.ts", [join(directory, "dead.ndjson")])
      yield* Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            const check = setInterval(() => {
              if (run.stdout().includes("ready")) {
                clearInterval(check)
                resolve()
              }
            }, 20)
          })
      )
      yield* Effect.sleep("700 millis")
      run.child.kill("SIGTERM")
      const [stats] = yield* finish(run)
      rmSync(directory, { recursive: true, force: true })
      assert.include(stats, {
        example: "BufferedApp",
        buffered: 0,
        inFlight: 0,
        awaiting: 0,
        deadLettered: 0,
        unconfirmed: 0
      })
      assert.isAbove(stats!.delivered as number, 0)
      const client = yield* RecordsClient
      const rows = yield* Stream.runCollect(client.allRecords("events"))
      assert.strictEqual(
        [...rows].filter((row) => String(row.user_id).startsWith("buffered-")).length,
        stats!.delivered
      )
    })
  )
})
