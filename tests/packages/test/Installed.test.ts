/**
 * The packages as users install them (SPEC §2 "Distribution"): every package packed with `pnpm pack`, installed
 * with plain npm in a folder outside the repository (no workspace links), and used from there:
 * - an Effect application type-checked against the shipped `.d.ts` and run against a real service, with
 *   `RecordsClient.layerConfig`, `write` and a `RecordBuffer`;
 * - the CLI installed into its own prefix (`npm install -g --prefix`), its `batchwrite` serving and appending.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { rm } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { type ProcessRun, runProcess } from "@batchwrite/server/testing/Process"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

const repository = fileURLToPath(new URL("../../..", import.meta.url))
const fixture = fileURLToPath(new URL("../fixture", import.meta.url))
const packages = ["packages/core", "packages/api", "packages/client", "packages/server", "apps/cli"]

/** The version of a dependency in this workspace, so the scratch project installs what the packages were built with. */
const workspaceVersion = (name: string): string =>
  (
    JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${name}/package.json`), "utf8")) as {
      version: string
    }
  ).version

const expectSuccess = (run: ProcessRun, what: string) =>
  assert.strictEqual(run.status, 0, `${what} failed:\n${run.stdout}\n${run.stderr}`)

/** npm without the workspace's pnpm settings and with no audit or funding chatter. */
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  runProcess("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_")))
  })

const scratch = mkdtempSync(join(tmpdir(), "batchwrite-install-"))
const tarballs = join(scratch, "tarballs")
const project = join(scratch, "project")
const prefix = join(scratch, "prefix")
const batchwrite = join(prefix, "bin", "batchwrite")
const tarball = (name: string) => join(tarballs, `batchwrite-${name}-0.1.0.tgz`)

beforeAll(async () => {
  mkdirSync(tarballs)
  mkdirSync(project)
  for (const folder of packages) {
    expectSuccess(
      await runProcess("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(repository, folder) }),
      `pnpm pack in ${folder}`
    )
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "an-effect-app", private: true, type: "module" }))
  for (const file of ["program.ts", "tsconfig.json"]) copyFileSync(join(fixture, file), join(project, file))
  // The application's own dependencies and the CLI's prefix install at once: one waits on the network, the other
  // compiles better-sqlite3.
  const [library, cli] = await Promise.all([
    npm(
      [
        "install",
        tarball("core"),
        tarball("api"),
        tarball("client"),
        `effect@${workspaceVersion("effect")}`,
        `@effect/platform@${workspaceVersion("@effect/platform")}`,
        `typescript@${workspaceVersion("typescript")}`,
        "@types/node@20"
      ],
      project
    ),
    npm(["install", "--global", "--prefix", prefix, tarball("cli")], scratch)
  ])
  expectSuccess(library, "npm install of the client packages")
  expectSuccess(cli, "npm install --global of the CLI")
}, 600_000)

// Asynchronously: the scratch folder holds thousands of installed files, and a synchronous removal on a loaded
// machine blocks the test worker for longer than vitest waits for it.
afterAll(() => rm(scratch, { recursive: true, force: true }), 120_000)

describe("installed with npm outside the workspace", () => {
  it("the client's tarball ships dist/ only, and its exports point there", async () => {
    const listing = await runProcess("tar", ["tzf", tarball("client")])
    const files = listing.stdout.trim().split("\n")
    assert.includeMembers(files, ["package/dist/index.js", "package/dist/index.d.ts", "package/package.json"])
    assert.deepStrictEqual(
      files.filter((file) => !/^package\/(dist\/|package\.json$|README\.md$)/.test(file)),
      [],
      "nothing but dist/, package.json and the README"
    )
    const manifest = JSON.parse(readFileSync(join(project, "node_modules/@batchwrite/client/package.json"), "utf8"))
    assert.deepStrictEqual(manifest.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" })
  })

  it("the CLI runs from its prefix: --version, serve on SQLite, append", async () => {
    const version = await runProcess(batchwrite, ["--version"])
    expectSuccess(version, "batchwrite --version")
    assert.strictEqual(version.stdout.trim(), "0.1.0")

    const server = await ServeProcess.start({ command: batchwrite, workers: 1 })
    try {
      const file = join(scratch, "events.ndjson")
      const events = Array.from({ length: 300 }, (_, i) => ({ event: `cli-${i}`, occurred_at: "2026-04-21T15:00:00Z" }))
      writeFileSync(file, events.map((event) => `${JSON.stringify(event)}\n`).join(""))
      const env = { ...process.env, BATCHWRITE_URL: server.baseUrl, BATCHWRITE_TOKEN: server.token }
      const append = await runProcess(batchwrite, ["append", "events", file, "--json"], { env })
      expectSuccess(append, "batchwrite append")
      assert.deepInclude(JSON.parse(append.stdout).records, { sent: 300, inserted: 300, invalid: 0 })
    } finally {
      await server.dispose()
    }
  })

  it("an Effect application type-checks against the shipped .d.ts and writes through write and a RecordBuffer", async () => {
    expectSuccess(await runProcess(join(project, "node_modules/.bin/tsc"), ["-p", project]), "tsc")
    const server = await ServeProcess.start({ command: batchwrite, workers: 1 })
    try {
      const run = await runProcess(process.execPath, [join(project, "dist/program.js")], {
        cwd: project,
        env: { ...process.env, BATCHWRITE_URL: server.baseUrl, BATCHWRITE_TOKEN: server.token }
      })
      expectSuccess(run, "the application")
      assert.deepStrictEqual(JSON.parse(run.stdout), {
        written: { accepted: 2_500, inserted: 2_500, jobs: 1 },
        buffered: { delivered: 250, deadLettered: 0 },
        key: "cc3c356f-00ed-d686-136b-b3ea69f46667"
      })
    } finally {
      await server.dispose()
    }
  })
})

// The scratch folder must be outside the repository, or npm would find the workspace above it.
assert.notInclude(dirname(scratch), repository)
