/**
 * `batchwrite serve` configured the way services are: every flag also reads its `BATCHWRITE_*` variable (the flag
 * wins), a bad value is a usage error naming the variable, `--log-level` / `BATCHWRITE_LOG_LEVEL` silence the
 * request log, and the start-up line says where the API, its reference and the database are.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { assert, describe, it } from "@effect/vitest"
import { type CliRun, runCli, startCli } from "./cli.js"

/** Polls until `check` holds or five seconds pass (log lines reach stdout a little after the answer). */
const eventually = async (check: () => boolean) => {
  for (let waited = 0; !check() && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20))
}

/** Starts a service, sends it one request, and answers what it printed on stdout. */
const stdoutAfterOneRequest = async (options: Parameters<typeof ServeProcess.start>[0]) => {
  const server = await ServeProcess.start({ workers: 1, ...options })
  try {
    await (await fetch(`${server.origin}/healthz`)).arrayBuffer()
    await eventually(() => server.stdout.includes("/healthz"))
    await new Promise((resolve) => setTimeout(resolve, 200))
    return server.stdout
  } finally {
    await server.dispose()
  }
}

const expectUsageError = (run: CliRun, message: RegExp) => {
  assert.strictEqual(run.status, 2, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  assert.match(run.stderr, message)
  assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
}

describe("serve reads its settings from the environment", () => {
  it("BATCHWRITE_PORT, _HOST, _DATABASE, _WORKERS, _RATE_LIMIT and _CONFIG start the service", async () => {
    const server = await ServeProcess.start({
      settingsFromEnv: true,
      workers: 1,
      rateLimit: "7/s",
      config: { tokens: [{ token: "token-from-config", workspace: "acme", scopes: ["records:read"] }] },
      env: { BATCHWRITE_HOST: "127.0.0.1" }
    })
    try {
      assert.isTrue(existsSync(server.databaseFile), "the SQLite file of BATCHWRITE_DATABASE")
      const response = await fetch(`${server.baseUrl}/objects`, {
        headers: { authorization: "Bearer token-from-config" }
      })
      assert.strictEqual(response.status, 200, "the token of the BATCHWRITE_CONFIG file")
      assert.strictEqual(response.headers.get("ratelimit-policy"), '"token";q=14;w=2', "BATCHWRITE_RATE_LIMIT")
      await response.arrayBuffer()
      const append = await fetch(`${server.baseUrl}/records/events/append-batch`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json", prefer: "wait=10" },
        body: JSON.stringify({ records: [{ event: "env", occurred_at: "2026-01-01T00:00:00Z" }] })
      })
      assert.strictEqual(append.status, 200, "a job worker of BATCHWRITE_WORKERS completed the job")
      assert.match(
        server.stdout,
        new RegExp(
          `serving the API on http://127\\.0\\.0\\.1:${server.port}/public/v1 \\(reference: http://127\\.0\\.0\\.1:${server.port}/docs\\), storing in SQLite file ${server.databaseFile.replaceAll(".", "\\.")}`
        )
      )
    } finally {
      await server.dispose()
    }
  })

  it("a bad value in a variable is a usage error naming it: _PORT, _WORKERS, _POOL_SIZE, _JOB_LEASE, _REQUEST_LEASE, _RATE_LIMIT, _LOG_LEVEL, _PREPARE_THREADS", async () => {
    const serve = (env: Record<string, string>) => runCli(["serve"], { env: { BATCHWRITE_TOKEN: "t", ...env } })
    expectUsageError(await serve({ BATCHWRITE_PORT: "eighty" }), /BATCHWRITE_PORT/)
    expectUsageError(await serve({ BATCHWRITE_WORKERS: "0" }), /--workers \(or BATCHWRITE_WORKERS\) must be at least 1/)
    expectUsageError(
      await serve({ BATCHWRITE_DATABASE: "postgres://nobody@127.0.0.1:1/none", BATCHWRITE_POOL_SIZE: "0" }),
      /--pool-size \(or BATCHWRITE_POOL_SIZE\) must be at least 1/
    )
    expectUsageError(await serve({ BATCHWRITE_JOB_LEASE: "0" }), /BATCHWRITE_JOB_LEASE\) must be at least 1 second/)
    expectUsageError(
      await serve({ BATCHWRITE_REQUEST_LEASE: "0" }),
      /BATCHWRITE_REQUEST_LEASE\) must be at least 1 second/
    )
    expectUsageError(await serve({ BATCHWRITE_RATE_LIMIT: "fast" }), /--rate-limit must be a positive number/)
    expectUsageError(await serve({ BATCHWRITE_LOG_LEVEL: "loud" }), /BATCHWRITE_LOG_LEVEL must be one of .*warning/)
    expectUsageError(
      await serve({ BATCHWRITE_PREPARE_THREADS: "-1" }),
      /--prepare-threads \(or BATCHWRITE_PREPARE_THREADS\) must be 0 to 64/
    )
    expectUsageError(await serve({ BATCHWRITE_CONFIG: "/no/such/config.json" }), /cannot read the config file/)
  })

  it("a flag wins over its variable", async () => {
    const server = await ServeProcess.start({ env: { BATCHWRITE_WORKERS: "0" }, args: ["--workers", "1"] })
    await server.dispose()
  })
})

describe("stopping", () => {
  it("SIGTERM and SIGINT (Ctrl-C): a graceful stop, a 'batchwrite stopped' line, exit 0", async () => {
    const server = await ServeProcess.start({ workers: 1 })
    try {
      assert.strictEqual(await server.stop(), 0)
      assert.match(server.stdout, /batchwrite stopped: in-flight requests answered/)
    } finally {
      await server.dispose()
    }
    const port = await freePort()
    const directory = mkdtempSync(join(tmpdir(), "batchwrite-stop-"))
    try {
      const run = startCli(["serve", "--port", String(port), "--database", `sqlite:${join(directory, "b.db")}`])
      for (let waited = 0; waited < 30_000; waited += 100) {
        if (
          await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false
          )
        )
          break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      run.child.kill("SIGINT")
      const ended = await run.exited
      assert.strictEqual(ended.status, 0, ended.stderr)
      assert.match(ended.stdout, /batchwrite stopped/)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})

describe("log level", () => {
  it("info by default: the start-up line and one line per request", async () => {
    const stdout = await stdoutAfterOneRequest({})
    assert.match(stdout, /batchwrite is serving the API on/)
    assert.match(stdout, /GET \/healthz 200/)
  })

  it("a write's line counts its records: a batch of 3, a single record, and none on a read", async () => {
    const server = await ServeProcess.start({ workers: 1 })
    try {
      const records = Array.from({ length: 3 }, (_, i) => ({ event: `e${i}`, occurred_at: "2026-01-01T00:00:00Z" }))
      const batch = await server.fetch("/public/v1/records/events/append-batch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ records })
      })
      assert.strictEqual(batch.status, 202, await batch.text())
      const single = await server.fetch("/public/v1/records/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(records[0])
      })
      assert.strictEqual(single.status, 201, await single.text())
      await (await fetch(`${server.origin}/healthz`)).arrayBuffer()
      await eventually(() => server.stdout.includes("/healthz"))
      assert.match(server.stdout, /POST \/public\/v1\/records\/events\/append-batch 202 records=3 /)
      assert.match(server.stdout, /POST \/public\/v1\/records\/events 201 records=1 /)
      assert.match(server.stdout, /GET \/healthz 200 records=- /)
    } finally {
      await server.dispose()
    }
  })

  it("BATCHWRITE_LOG_LEVEL=warning and serve --log-level warning silence both", async () => {
    for (const options of [{ env: { BATCHWRITE_LOG_LEVEL: "warning" } }, { args: ["--log-level", "warning"] }]) {
      const stdout = await stdoutAfterOneRequest(options)
      assert.notMatch(stdout, /serving the API|\/healthz/, JSON.stringify(options))
    }
  })

  it("--log-level wins over BATCHWRITE_LOG_LEVEL", async () => {
    const stdout = await stdoutAfterOneRequest({
      env: { BATCHWRITE_LOG_LEVEL: "warning" },
      args: ["--log-level=info"]
    })
    assert.match(stdout, /GET \/healthz 200/)
  })
})

describe("tokens new", () => {
  it("prints a token once and a config entry with only its hash; a service given the entry takes the token", async () => {
    const made = await runCli(["tokens", "new", "--workspace", "acme", "--scopes", "records:read", "--json"])
    assert.strictEqual(made.status, 0, made.stderr)
    const { token, configEntry } = JSON.parse(made.stdout) as { token: string; configEntry: Record<string, unknown> }
    assert.match(token, /^bw_[A-Za-z0-9_-]{43}$/)
    assert.notInclude(JSON.stringify(configEntry), token)
    const server = await ServeProcess.start({ workers: 1, config: { tokens: [configEntry] } })
    try {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
      const read = await fetch(`${server.baseUrl}/objects`, { headers })
      assert.strictEqual(read.status, 200, await read.text())
      const write = await fetch(`${server.baseUrl}/records/events/append-batch`, {
        method: "POST",
        headers,
        body: JSON.stringify({ records: [{ event: "x", occurred_at: "2026-01-01T00:00:00Z" }] })
      })
      assert.strictEqual(write.status, 403, "records:read only")
      await write.arrayBuffer()
    } finally {
      await server.dispose()
    }
  })

  it("a bad scope or workspace is a usage error", async () => {
    expectUsageError(
      await runCli(["tokens", "new", "--workspace", "acme", "--scopes", "records:reed"]),
      /'records:reed' is not a scope/
    )
    expectUsageError(await runCli(["tokens", "new", "--workspace", "Not Valid"]), /--workspace must be/)
  })
})

describe("operations", () => {
  /** Every stored row of `events`, through the NDJSON read. */
  const storedEvents = async (server: ServeProcess): Promise<Array<{ event: string }>> => {
    const response = await fetch(`${server.baseUrl}/records/events`, {
      headers: { authorization: `Bearer ${server.token}`, accept: "application/x-ndjson" }
    })
    assert.strictEqual(response.status, 200)
    return (await response.text())
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { event: string })
  }

  it("backup while batches are written: the copy opens with serve and holds every row committed before it", async () => {
    const server = await ServeProcess.start({ workers: 2 })
    const backups = mkdtempSync(join(tmpdir(), "batchwrite-backup-"))
    const copy = join(backups, "backup.db")
    let committedBeforeBackup = -1
    try {
      let committed = 0
      let backup: Promise<CliRun> | undefined
      for (let batch = 0; batch < 20; batch++) {
        const response = await fetch(`${server.baseUrl}/records/events/append-batch`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${server.token}`,
            "content-type": "application/json",
            prefer: "wait=30"
          },
          body: JSON.stringify({
            records: Array.from({ length: 1_000 }, (_, i) => ({
              event: `b${batch}-${i}`,
              occurred_at: "2026-01-01T00:00:00Z"
            }))
          })
        })
        assert.strictEqual(response.status, 200, await response.text())
        committed += 1_000
        if (batch === 9) {
          committedBeforeBackup = committed
          backup = runCli(["backup", copy, "--database", `sqlite:${server.databaseFile}`])
        }
      }
      const done = await backup!
      assert.strictEqual(done.status, 0, done.stderr)
      assert.match(done.stdout, /backed up .* into .*backup\.db/)
      expectUsageError(
        await runCli(["backup", copy, "--database", `sqlite:${server.databaseFile}`]),
        /already exists: back up into a new file/
      )
    } finally {
      await server.dispose()
    }
    const restored = await ServeProcess.start({ workers: 1, database: `sqlite:${copy}` })
    try {
      const rows = await storedEvents(restored)
      assert.isAtLeast(rows.length, committedBeforeBackup)
      assert.strictEqual(new Set(rows.map((row) => row.event)).size, rows.length, "each row once")
    } finally {
      await restored.dispose()
      rmSync(backups, { recursive: true, force: true })
    }
  })

  it("backup refuses a missing database and PostgreSQL", async () => {
    expectUsageError(await runCli(["backup", "/tmp", "--database", "sqlite:/no/such.db"]), /no database at/)
    expectUsageError(await runCli(["backup", "/tmp/x.db", "--database", "postgres://u@127.0.0.1/db"]), /pg_dump/)
  })

  it("a database migrated by a newer version is refused with a clear message, not a crash", async () => {
    const server = await ServeProcess.start({ workers: 1 })
    await server.stop()
    const Database = createRequire(import.meta.url)("better-sqlite3") as new (
      file: string
    ) => {
      exec(sql: string): void
      close(): void
    }
    const db = new Database(server.databaseFile)
    db.exec("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (999, 'from_the_future')")
    db.close()
    const run = await runCli(["serve", "--database", `sqlite:${server.databaseFile}`, "--port", "0"], {
      env: { BATCHWRITE_TOKEN: "t" }
    })
    await server.dispose()
    assert.strictEqual(run.status, 1, run.stderr)
    assert.match(
      run.stderr,
      /migrated by a newer batchwrite \(migration 999_from_the_future; this version knows up to \d+\)/
    )
    assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
  })
})
