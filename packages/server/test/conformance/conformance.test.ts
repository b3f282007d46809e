/**
 * SPEC §1 as the hosted API's users meet it: a plain Python client (`hosted_api_client.py`, with `requests` and
 * again with the standard library only) walks the examples of the hosted docs against a real `batchwrite serve`
 * process. Each check of the walk is one test here, so a failure names the behaviour that broke.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { succeeds } from "../support/Process.js"
import { ServeProcess } from "../support/ServeProcess.js"

const script = fileURLToPath(new URL("./hosted_api_client.py", import.meta.url))

const probe = (code: string) => succeeds("python3", ["-c", code])
const hasPython = await probe("import sys; assert sys.version_info >= (3, 8)")
const hasRequests = hasPython && (await probe("import requests"))
if (!hasPython) {
  console.warn("SKIPPED: python3 (>= 3.8) is not installed, so the hosted-API conformance walk did not run")
} else if (!hasRequests) {
  console.warn("SKIPPED: the Python 'requests' package is missing; only the standard-library client walk runs")
}

/** Every check of the walk, in its order; each must print `ok <name>`. */
const checks = [
  "append-example",
  "job-errors-paging",
  "upsert-example",
  "records-filter-email-case",
  "idempotent-replay",
  "rate-limit-retry",
  "buffer-flush-upserts",
  "prefer-wait",
  "unauthorized",
  "forbidden-scope",
  "tenancy",
  "unknown-object",
  "unsupported-media-type",
  "too-many-records",
  "unknown-field",
  "payload-too-large",
  "ratelimit-headers"
] as const

interface Walk {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runWalk = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, timeoutMs: number) =>
  new Promise<Walk>((resolve) => {
    const child = spawn("python3", [script, ...args], { env: { ...process.env, ...env }, stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text
    })
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text
    })
    const timer = setTimeout(() => {
      stderr += `\n[killed: the walk took more than ${timeoutMs} ms]`
      child.kill("SIGKILL")
    }, timeoutMs)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const tokens = {
  main: "conformance-main-token",
  limited: "conformance-limited-token",
  other: "conformance-other-workspace",
  readOnly: "conformance-read-only-token"
}

const transports = [
  { name: "requests", available: hasRequests, env: {} },
  { name: "stdlib", available: hasPython, env: { BATCHWRITE_HTTP: "stdlib" } }
] as const

describe.each(transports)("hosted API client over $name", ({ available, env, name }) => {
  let server: ServeProcess | undefined
  let walk: Walk | undefined

  beforeAll(async () => {
    if (!available) return
    // The quick-start token is the rate-limited one (--rate-limit 5: burst 10); the walk's main token names a
    // generous limit of its own in the config file, so only the 429 check waits.
    server = await ServeProcess.start({
      token: tokens.limited,
      rateLimit: 5,
      config: {
        tokens: [
          { token: tokens.main, workspace: "default", rateLimit: { requestsPerSecond: 1000, burst: 2000 } },
          { token: tokens.other, workspace: "other" },
          { token: tokens.readOnly, workspace: "default", scopes: ["records:read"] }
        ]
      }
    })
    walk = await runWalk(
      [
        server.origin,
        tokens.main,
        "--limited-token",
        tokens.limited,
        "--other-workspace-token",
        tokens.other,
        "--read-only-token",
        tokens.readOnly
      ],
      env,
      60_000
    )
  }, 90_000)

  afterAll(async () => {
    await server?.dispose()
  })

  const lineOf = (check: string) =>
    walk?.stdout.split("\n").find((line) => /^(ok|FAIL|skip) /.test(line) && line.split(/[ :]/)[1] === check)

  it.skipIf(!available).each(checks)("%s", (check) => {
    const line = lineOf(check)
    assert.isDefined(line, `the walk printed nothing for ${check}:\n${walk?.stdout}\n${walk?.stderr}`)
    assert.isTrue(line!.startsWith(`ok ${check}`), line)
  })

  it.skipIf(!available)("runs every check, exits 0 and prints its summary", () => {
    assert.isDefined(walk)
    const summary = walk!.stdout.split("\n").find((line) => line.startsWith("summary: "))
    assert.isDefined(summary, `no summary line:\n${walk!.stdout}\n${walk!.stderr}`)
    assert.include(summary!, `transport=${name}`)
    assert.include(summary!, "skipped=0")
    assert.include(summary!, `passed=${checks.length} failed=0`, walk!.stdout)
    assert.strictEqual(walk!.code, 0, `${walk!.stdout}\n${walk!.stderr}`)
  })

  it.skipIf(!available)("logs one line per request, without tokens or query strings", () => {
    const requests = Number(/requests=(\d+)/.exec(walk?.stdout ?? "")?.[1] ?? Number.NaN)
    const logged = server!.stdout.split("\n").filter((line) => /^(GET|POST|PUT|DELETE) \/public\/v1\//.test(line))
    assert.isAtLeast(logged.length, requests, "fewer request log lines than requests sent")
    const everything = server!.stdout + server!.stderr
    for (const token of Object.values(tokens)) assert.notInclude(everything, token, "a token was logged")
    assert.notMatch(everything, /@example\.com/i, "a query string (an email) was logged")
  })
})
