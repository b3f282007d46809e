/**
 * The API reference (issue 17): `/docs` renders `openapi.json` — a table of contents, every route with its curl
 * command and the examples of its answers — and those examples tell the truth: each curl command, run as a reader
 * copies it (only the host and the token changed), gets the answer its example shows. Then the page in headless
 * Chromium: it loads with no failed request, and the append-batch section and its curl command are there.
 */
import { existsSync } from "node:fs"
import { exampleOrigin, openApiSpec, tokenVariable } from "@batchwrite/api"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { chromium } from "playwright-core"
import { runProcess } from "../support/Process.js"
import * as TestService from "../support/TestService.js"

interface Example {
  readonly summary: string
  readonly value: { readonly success: boolean; readonly data?: Record<string, unknown> }
}

interface Operation {
  readonly operationId: string
  readonly responses: Record<string, { content?: Record<string, { examples?: Record<string, Example> }> }>
  readonly "x-codeSamples": ReadonlyArray<{ readonly label: string; readonly source: string }>
}

const document = JSON.parse(JSON.stringify(openApiSpec)) as { paths: Record<string, Record<string, Operation>> }

const operation = (method: string, path: string): Operation => document.paths[path]![method]!

const example = (op: Operation, status: string, name: string): Example =>
  op.responses[status]!.content!["application/json"]!.examples![name]!

/** A row's fields without the ones the service adds. */
const fieldsOf = (row: unknown) => TestService.fieldsOf(row as Record<string, unknown>)

/** Runs curl sample `index` of an operation against the service at `origin`, as the alpha token: status and body. */
const runSample = (origin: string, op: Operation, index = 0) =>
  Effect.promise(async () => {
    const source = op["x-codeSamples"][index]!.source.replaceAll(exampleOrigin, origin)
    const run = await runProcess("sh", ["-c", `${source} -sS -w '\\n%{http_code}'`], {
      env: { ...process.env, [tokenVariable]: TestService.tokens.alpha }
    })
    assert.strictEqual(run.status, 0, run.stderr)
    const at = run.stdout.lastIndexOf("\n")
    return { status: run.stdout.slice(at + 1), body: JSON.parse(run.stdout.slice(0, at)) as Example["value"] }
  })

const appendBatch = operation("post", "/public/v1/records/{object}/append-batch")
const upsertBatch = operation("post", "/public/v1/records/{object}/upsert-batch")

/** A `/readyz` answer as this test reads it. */
interface ReadinessBody {
  readonly data?: { readonly admission?: Record<string, unknown> } | undefined
}

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("the examples of /docs (issue 17)", (it) => {
    it.effect("each batch route's curl commands get the 202, and with Prefer: wait the 200, their examples show", () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        for (const op of [upsertBatch, appendBatch]) {
          // The waiting variant first: on a fresh service its job's counts are the example's.
          const waited = yield* runSample(origin, op, 1)
          assert.strictEqual(waited.status, "200")
          const job = example(op, "200", "completed").value.data!
          assert.deepStrictEqual(Object.keys(waited.body.data!).sort(), Object.keys(job).sort())
          assert.deepStrictEqual(waited.body.data!.metrics, job.metrics)
          assert.strictEqual(waited.body.data!.state, "completed")

          const accepted = yield* runSample(origin, op)
          assert.strictEqual(accepted.status, "202")
          const { jobId: _, statusPath: __, ...expected } = example(op, "202", "accepted").value.data!
          const { jobId, statusPath, ...actual } = accepted.body.data!
          assert.deepStrictEqual(actual, expected)
          assert.strictEqual(statusPath, `/records/${actual.objectName}/jobs/${jobId}`)
        }
      })
    )

    it.effect("the single write, the reads, the object PUT and the operations routes answer their examples", () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        const write = operation("post", "/public/v1/records/{object}")
        const written = yield* runSample(origin, write)
        assert.strictEqual(written.status, "201")
        const inserted = example(write, "201", "inserted").value.data!
        assert.strictEqual(written.body.data!.outcome, inserted.outcome)
        assert.deepStrictEqual(fieldsOf(written.body.data!.record), fieldsOf(inserted.record))

        const exact: ReadonlyArray<readonly [string, string, string, string]> = [
          ["put", "/public/v1/objects/{name}", "201", "created"],
          ["get", "/public/v1/objects/{name}", "200", "object"],
          ["get", "/healthz", "200", "up"],
          ["get", "/", "200", "index"]
        ]
        for (const [method, path, status, name] of exact) {
          const op = operation(method, path)
          const answer = yield* runSample(origin, op)
          assert.strictEqual(answer.status, status, path)
          assert.deepStrictEqual(answer.body, example(op, status, name).value, path)
        }

        // Readiness reports live admission figures (this test's own writes are in the backlog): the answer is the
        // example's but for those figures, whose names and bounds are the example's.
        const readyz = operation("get", "/readyz")
        const ready = yield* runSample(origin, readyz)
        assert.strictEqual(ready.status, "200")
        const expected = example(readyz, "200", "ready").value
        const withoutFigures = (body: ReadinessBody) => {
          const { admission = {}, ...rest } = body.data ?? {}
          const bounds = { max: admission.maxInFlightBodyBytes, backlog: admission.maxBacklogRecords }
          return { ...body, data: { ...rest, admission: bounds }, figures: Object.keys(admission).sort() }
        }
        assert.deepStrictEqual(withoutFigures(ready.body), withoutFigures(expected))
      })
    )
  })
})

layer(TestService.layer(), { excludeTestServices: true })("/docs renders openapi.json", (it) => {
  it.effect(
    "a table of contents, every route with its curl commands and examples, and the idempotency fingerprint",
    () =>
      Effect.gen(function* () {
        const response = yield* TestService.rawGet("/docs")
        assert.strictEqual(response.status, 200)
        const html = response.text
        const entities: Record<string, string> = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">" }
        const page = html.replace(/&(?:amp|quot|#39|lt|gt);/g, (entity) => entities[entity]!)
        const nav = html.slice(html.indexOf("<nav"), html.indexOf("</nav>"))
        for (const [path, item] of Object.entries(document.paths)) {
          for (const [method, op] of Object.entries(item)) {
            const id = op.operationId
            assert.include(nav, `href="#${id}"`, `the table of contents links ${method} ${path}`)
            assert.include(html, `id="${id}"`)
            for (const sample of op["x-codeSamples"]) assert.include(page, sample.source, `${id}: ${sample.label}`)
          }
        }
        assert.include(page, example(appendBatch, "202", "accepted").value.data!.jobId as string)
        for (const code of [
          "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
          "CDP_ETL.IDEMPOTENCY.KEY_REUSED",
          "CDP_ETL.RATE_LIMITED"
        ]) {
          assert.include(page, code)
        }
        assert.include(html, 'id="idempotency"')
        assert.include(page, "canonical record set")
        assert.include(page, "sorted")
        assert.include(page, "matchKey")
        assert.notInclude(page, "**", "Markdown is rendered, not shown")
      })
  )
})

/** Where the Debian chromium is (`apt-get install -y chromium`); `CHROMIUM_PATH` overrides it. */
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"
const haveChromium = existsSync(chromiumPath)

if (!haveChromium) {
  const message = `Chromium is not at ${chromiumPath}: the /docs browser test is SKIPPED. Install it with \`apt-get install -y chromium\` (as root), or set CHROMIUM_PATH`
  if (inCi) throw new Error(`${message} — in CI this is an error (.ci/run installs chromium)`)
  console.warn(`\n*** ${message} ***\n`)
}

layer(TestService.layer(), { excludeTestServices: true })("/docs in headless Chromium", (it) => {
  it.effect.skipIf(!haveChromium)(
    "loads with no failed request; the append-batch section and its curl command are there",
    () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() => chromium.launch({ executablePath: chromiumPath })),
          (browser) => Effect.promise(() => browser.close())
        )
        const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 1400, height: 1000 } }))
        const failed: Array<string> = []
        page.on("requestfailed", (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`))
        page.on("response", (response) => {
          if (response.status() >= 400) failed.push(`${response.url()}: ${response.status()}`)
        })
        const response = yield* Effect.promise(() => page.goto(`${origin}/docs`, { waitUntil: "load" }))
        assert.strictEqual(response?.status(), 200)
        assert.deepStrictEqual(failed, [])

        yield* Effect.promise(() => page.getByRole("link", { name: "POST Append a batch of records" }).click())
        assert.match(page.url(), /#records\.appendBatch$/)
        const section = page.locator('[id="records.appendBatch"]')
        assert.isTrue(yield* Effect.promise(() => section.isVisible()))
        const heading = yield* Effect.promise(() => section.locator("h3").innerText())
        assert.include(heading, "/public/v1/records/{object}/append-batch")
        const curl = yield* Effect.promise(() =>
          section.locator("pre", { hasText: "curl -X POST" }).first().innerText()
        )
        assert.strictEqual(curl.trim(), appendBatch["x-codeSamples"][0]!.source)

        const screenshot = process.env.BATCHWRITE_DOCS_SCREENSHOT
        if (screenshot !== undefined) {
          yield* Effect.promise(() => page.goto(`${origin}/docs`, { waitUntil: "load" }))
          yield* Effect.promise(() => page.screenshot({ path: screenshot, fullPage: true }))
        }
      }).pipe(Effect.scoped),
    120_000
  )
})
