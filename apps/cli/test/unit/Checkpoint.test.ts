/**
 * The checkpoint of `append`/`upsert`: whatever order the runs of the input settle in, `resumeAt` is the longest
 * settled prefix, every run is counted once, and a resumed checkpoint holds what the interrupted one saved.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { Checkpoint, runIdentity } from "../../src/write/Checkpoint.js"
import { noTotals } from "../../src/write/Totals.js"

const directory = mkdtempSync(join(tmpdir(), "batchwrite-checkpoint-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

const run = runIdentity(
  join(directory, "input.ndjson"),
  { size: 100, mtimeMs: 1 },
  {
    objectName: "events",
    mode: "append",
    format: "auto"
  }
)

interface Settled {
  readonly run: { readonly firstIndex: number; readonly count: number }
  readonly batch: { readonly firstIndex: number; readonly count: number }
}

/**
 * The batches of a split covering 0..n-1, some cut into runs as halving after a 413 does, every run with its batch,
 * in a shuffled settling order; and the batch starts.
 */
const shuffledRuns = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 30 })
  .chain((batches) => {
    let first = 0
    const runs: Array<Settled> = []
    const starts = new Set<number>()
    for (const [count, pieces] of batches) {
      const batch = { firstIndex: first, count }
      starts.add(first)
      const cut = Math.min(pieces, count)
      for (let piece = 0; piece < cut; piece++) {
        const from = first + Math.floor((count * piece) / cut)
        const to = first + Math.floor((count * (piece + 1)) / cut)
        runs.push({ run: { firstIndex: from, count: to - from }, batch })
      }
      first += count
    }
    starts.add(first)
    return fc
      .shuffledSubarray(runs, { minLength: runs.length, maxLength: runs.length })
      .map((shuffled) => ({ runs: shuffled, starts }))
  })

const counted = (count: number) => ({ ...noTotals, accepted: count, inserted: count })

describe("Checkpoint", () => {
  it("ends at the input's length whatever the order, each run counted once, and resumes where it stood", () => {
    let file = 0
    fc.assert(
      fc.property(shuffledRuns, fc.nat(), ({ runs, starts }, stopAt) => {
        const path = join(directory, `checkpoint-${file++}`)
        const checkpoint = Checkpoint.start(path, run)
        for (const { run: settled, batch } of runs.slice(0, stopAt % runs.length)) {
          checkpoint.settle(settled, batch, counted(settled.count))
          assert.isTrue(starts.has(checkpoint.resumeAt), "it resumes at the start of a batch, never inside one")
        }

        // Interrupted here: a new run of the command resumes from the file.
        const resumed = Checkpoint.resume(path, run).pipe(Either.getOrThrow)
        assert.strictEqual(resumed.resumeAt, checkpoint.resumeAt)
        assert.deepStrictEqual(resumed.counted, checkpoint.counted)
        for (const { run: settled, batch } of runs) {
          if (resumed.isSettled(settled.firstIndex)) continue // the earlier run counted it
          resumed.settle(settled, batch, counted(settled.count))
        }
        const total = runs.reduce((sum, { run: settled }) => sum + settled.count, 0)
        assert.strictEqual(resumed.resumeAt, total)
        assert.deepStrictEqual(resumed.counted, counted(total))
        // Settling a run again changes nothing.
        resumed.settle(runs[0]!.run, runs[0]!.batch, counted(runs[0]!.run.count))
        assert.deepStrictEqual(resumed.counted, counted(total))
      })
    )
  })

  it("refuses to resume another run: the file changed, another object or mode, or not a checkpoint", () => {
    const path = join(directory, "other")
    Checkpoint.start(path, run).settle({ firstIndex: 0, count: 5 }, { firstIndex: 0, count: 5 }, counted(5))
    const refused = (identity: typeof run) => Either.isLeft(Checkpoint.resume(path, identity))
    assert.isTrue(refused({ ...run, size: 101 }))
    assert.isTrue(refused({ ...run, objectName: "profiles" }))
    assert.isTrue(refused({ ...run, mode: "upsert", matchKey: "email" }))
    assert.isFalse(refused(run))
    writeFileSync(path, "{}")
    assert.isTrue(refused(run))
    assert.strictEqual(Checkpoint.resume(join(directory, "none"), run).pipe(Either.getOrThrow).resumeAt, 0)
  })
})
