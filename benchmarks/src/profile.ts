/**
 * Summarizes a V8 `.cpuprofile` (from `pnpm bench --cpu-prof <dir>`, or `node --cpu-prof`): the functions with the
 * most self time, and the share of self time by package, so a profile of the service can be read in a terminal.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks exec tsx --conditions=@batchwrite/source src/profile.ts <file.cpuprofile> [--top 25]`
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]
if (file === undefined) {
  process.stderr.write("usage: tsx src/profile.ts <file.cpuprofile> [--top 25]\n")
  process.exit(2)
}
const topAt = process.argv.indexOf("--top")
const top = topAt >= 0 ? Number(process.argv[topAt + 1]) : 25

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfMicros = new Map<number, number>()
profile.samples.forEach((id, i) => {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})

/** Where a function comes from: a package under node_modules, the service's bundle, node itself, or V8. */
const origin = (url: string): string => {
  const modules = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules !== null) return modules[1]!
  if (url.startsWith("node:")) return "node"
  if (url === "") return "(v8/native)"
  return url.replace(/^file:\/\//, "").replace(/^.*\/(apps|packages)\//, "$1/")
}

const byFunction = new Map<string, number>()
const byOrigin = new Map<string, number>()
let total = 0
for (const [id, micros] of selfMicros) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  const name = `${functionName || "(anonymous)"}  ${origin(url)}${url === "" ? "" : `:${lineNumber + 1}`}`
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
  byOrigin.set(origin(url), (byOrigin.get(origin(url)) ?? 0) + micros)
  total += micros
}

const print = (title: string, entries: Map<string, number>, limit: number) => {
  process.stdout.write(`\n${title}\n`)
  for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(
      `${((micros / total) * 100).toFixed(1).padStart(6)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}\n`
    )
  }
}
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`)
print("self time by function", byFunction, top)
print("self time by origin", byOrigin, 15)
