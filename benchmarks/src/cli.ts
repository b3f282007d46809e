/**
 * The CLI on a big file: writes an NDJSON file of N events-like records (default 2,000,000, ~370 MB), starts a fresh
 * `batchwrite serve`, runs `batchwrite append events <file>` as its own process, and reports its wall time,
 * records/s and peak RSS (`VmHWM` of `/proc/<pid>/status`, read until it exits). The target of the CLI issue: peak
 * RSS under 300 MB for 2,000,000 rows.
 *
 * Run: `pnpm --filter @batchwrite/benchmarks cli` (`-- --records 500000` for a shorter run).
 */
import { spawn } from "node:child_process"
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { once } from "node:events"
import { binPath, ServeProcess, sleep } from "@batchwrite/server/testing/ServeProcess"

const argument = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}

const recordCount = argument("records", 2_000_000)

const writeFile = async (path: string, count: number) => {
  const out = createWriteStream(path)
  for (let i = 0; i < count; i += 1_000) {
    let text = ""
    for (let j = i; j < Math.min(count, i + 1_000); j++) {
      text += `${JSON.stringify({
        session_id: `s-${j % 977}`,
        event: `view-${j}`,
        url: `https://example.com/p/${j % 101}`,
        occurred_at: "2026-04-21T15:00:00Z",
        user_id: `u-${j % 4999}`,
        properties: { amount: (j % 1000) / 7, items: j % 5 }
      })}\n`
    }
    if (!out.write(text)) await once(out, "drain")
  }
  out.end()
  await once(out, "finish")
}

const peakRss = (pid: number): number | undefined => {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

const main = async () => {
  const directory = mkdtempSync(join(tmpdir(), "batchwrite-cli-bench-"))
  const file = join(directory, "events.ndjson")
  await writeFile(file, recordCount)
  const server = await ServeProcess.start({ workers: 2, rateLimit: 1_000_000, output: "files" })
  try {
    const started = performance.now()
    const child = spawn(process.execPath, [binPath, "append", "events", file, "--json"], {
      env: { ...process.env, BATCHWRITE_URL: `${server.origin}/public/v1`, BATCHWRITE_TOKEN: server.token },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    const exited = once(child, "exit")
    let peak = 0
    let done = false
    void exited.then(() => {
      done = true
    })
    while (!done) {
      peak = Math.max(peak, peakRss(child.pid!) ?? 0)
      await sleep(20)
    }
    const seconds = (performance.now() - started) / 1000
    const [code] = (await exited) as [number | null]
    const summary = JSON.parse(stdout) as { records: { inserted: number } }
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
    console.log(
      [
        `batchwrite append of ${recordCount.toLocaleString("en-US")} rows (${mb(statSync(file).size)} MB NDJSON): exit ${code}`,
        `  inserted ${summary.records.inserted.toLocaleString("en-US")} in ${seconds.toFixed(1)} s (${Math.round(recordCount / seconds).toLocaleString("en-US")} records/s)`,
        `  CLI peak RSS ${mb(peak)} MB (VmHWM, read every 20 ms until it exited); target < 300 MB`
      ].join("\n")
    )
    if (code !== 0 || summary.records.inserted !== recordCount) process.exitCode = 1
  } finally {
    await server.stop()
    await server.dispose()
    rmSync(directory, { recursive: true, force: true })
  }
}

void main()
