/**
 * SPEC §1.2 over real HTTP: a missing or unknown token is 401 with `WWW-Authenticate: Bearer`, a missing scope 403,
 * and two workspaces never see each other's objects, rows, jobs or idempotency keys (a foreign job id answers
 * exactly like a missing one).
 */
import { preferWait, ResponseHeaders } from "@batchwrite/api"
import type { Job } from "@batchwrite/core"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  const event = { event: "signup", occurred_at: "2026-04-21T15:00:00Z" }

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("auth and tenancy (SPEC §1.2)", (it) => {
    it.effect("no token is 401 UNAUTHORIZED with WWW-Authenticate: Bearer on every /public/v1 route", () =>
      Effect.gen(function* () {
        const { anonymous } = yield* TestService.TestService
        const failures = [
          yield* Effect.flip(
            anonymous.records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: [event] } })
          ),
          yield* Effect.flip(
            anonymous.records.upsertBatch({
              path: { object: "profiles" },
              headers: {},
              payload: { records: [{ email: "a@example.com" }], matchKey: "email" }
            })
          ),
          yield* Effect.flip(anonymous.records.listRecords({ path: { object: "events" }, urlParams: {} })),
          yield* Effect.flip(anonymous.records.getRecord({ path: { object: "events", id: "1" } })),
          yield* Effect.flip(
            anonymous.jobs.getJob({ path: { object: "events", jobId: "rjob_01JD0000000000000000000000" }, headers: {} })
          ),
          yield* Effect.flip(
            anonymous.jobs.listJobErrors({
              path: { object: "events", jobId: "rjob_01JD0000000000000000000000" },
              urlParams: {}
            })
          ),
          yield* Effect.flip(anonymous.objects.listObjects()),
          yield* Effect.flip(anonymous.objects.getObject({ path: { name: "events" } })),
          yield* Effect.flip(
            anonymous.objects.putObject({
              path: { name: "events" },
              payload: { fields: { event: { type: "string" } }, matchKeys: [] }
            })
          )
        ]
        for (const failure of failures) assert.strictEqual(failure._tag, "Unauthorized")

        for (const path of ["/public/v1/records/events", "/public/v1/objects"]) {
          const response = yield* TestService.rawGet(path)
          TestService.expectError(response, 401, "Unauthorized")
          assert.match(response.headers[ResponseHeaders.wwwAuthenticate] ?? "", /^Bearer\b/)
        }
      })
    )

    it.effect("an unknown or malformed token is 401 UNAUTHORIZED", () =>
      Effect.gen(function* () {
        const { clientOf } = yield* TestService.TestService
        const unknown = yield* Effect.flip(clientOf("not-a-known-token").objects.listObjects())
        assert.strictEqual(unknown._tag, "Unauthorized")
        // A known token sent under another scheme, or with a suffix, is not accepted.
        for (const authorization of [
          `Basic ${TestService.tokens.alpha}`,
          `Bearer ${TestService.tokens.alpha}x`,
          TestService.tokens.alpha,
          "Bearer"
        ]) {
          const response = yield* TestService.rawGet("/public/v1/objects", { headers: { authorization } })
          TestService.expectError(response, 401, "Unauthorized")
          assert.match(response.headers[ResponseHeaders.wwwAuthenticate] ?? "", /^Bearer\b/)
        }
      })
    )

    it.effect("a token without the scope a route needs is 403 FORBIDDEN; with it, the same call succeeds", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const write = (token: TestService.TokenName) =>
          api[token].records.appendBatch({ path: { object: "events" }, headers: {}, payload: { records: [event] } })
        const read = (token: TestService.TokenName) =>
          api[token].records.listRecords({ path: { object: "events" }, urlParams: { limit: 1 } })
        const admin = (token: TestService.TokenName) =>
          api[token].objects.putObject({
            path: { name: "scoped_thing" },
            payload: { fields: { name: { type: "string" } }, matchKeys: [] }
          })

        for (const token of ["alphaRead", "alphaAdmin"] as const) {
          assert.strictEqual((yield* Effect.flip(write(token)))._tag, "Forbidden", token)
          const upsert = yield* Effect.flip(
            api[token].records.upsertBatch({
              path: { object: "profiles" },
              headers: {},
              payload: { records: [{ email: "a@example.com" }], matchKey: "email" }
            })
          )
          assert.strictEqual(upsert._tag, "Forbidden", token)
        }
        for (const token of ["alphaWrite", "alphaAdmin"] as const) {
          assert.strictEqual((yield* Effect.flip(read(token)))._tag, "Forbidden", token)
        }
        const accepted = yield* write("alphaWrite")
        const forbiddenRecord = yield* Effect.flip(
          api.alphaWrite.records.getRecord({ path: { object: "events", id: "1" } })
        )
        assert.strictEqual(forbiddenRecord._tag, "Forbidden")
        for (const token of ["alphaWrite", "alphaRead"] as const) {
          assert.strictEqual((yield* Effect.flip(admin(token)))._tag, "Forbidden", token)
        }
        yield* read("alphaRead")
        const created = yield* admin("alphaAdmin")
        assert.strictEqual(created.data.name, "scoped_thing")
        // The writer follows its own job (any token of the workspace reads jobs).
        const job = yield* TestService.awaitJob(api.alphaWrite, "events", accepted.data.jobId)
        assert.strictEqual(job.state, "completed")

        const raw = yield* TestService.rawPost(
          "/public/v1/records/events/append-batch",
          JSON.stringify({ records: [event] }),
          { token: TestService.tokens.alphaRead }
        )
        TestService.expectError(raw, 403, "Forbidden")
      })
    )

    it.effect("a workspace does not see another's objects", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.objects.putObject({
          path: { name: "alpha_only" },
          payload: { fields: { secret: { type: "string" } }, matchKeys: [] }
        })
        const alphaNames = (yield* api.alpha.objects.listObjects()).data.objects.map((o) => o.name)
        const betaNames = (yield* api.beta.objects.listObjects()).data.objects.map((o) => o.name)
        assert.include(alphaNames, "alpha_only")
        assert.notInclude(betaNames, "alpha_only")
        assert.strictEqual(
          (yield* Effect.flip(api.beta.objects.getObject({ path: { name: "alpha_only" } })))._tag,
          "ObjectNotFound"
        )
        const write = yield* Effect.flip(
          api.beta.records.appendBatch({ path: { object: "alpha_only" }, headers: {}, payload: { records: [{}] } })
        )
        assert.strictEqual(write._tag, "ObjectNotFound")
        // Beta may define its own object of the same name, with another schema.
        const own = yield* api.beta.objects.putObject({
          path: { name: "alpha_only" },
          payload: { fields: { secret: { type: "integer" } }, matchKeys: [] }
        })
        assert.strictEqual(own.data.fields.secret?.type, "integer")
        assert.strictEqual(
          (yield* api.alpha.objects.getObject({ path: { name: "alpha_only" } })).data.fields.secret?.type,
          "string"
        )
      })
    )

    it.effect("a workspace does not see another's rows", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const answer = yield* api.alpha.records.upsertBatch({
          path: { object: "accounts" },
          headers: { prefer: preferWait(10) },
          payload: { records: [{ account_id: "tenant-1", name: "Alpha Corp" }], matchKey: "account_id" }
        })
        assert.strictEqual((answer.data as Job.Job).metrics.insertedRows, 1)
        const [alphaRow] = yield* TestService.allRecords(api.alpha, "accounts", { account_id: "tenant-1" })
        assert.strictEqual(alphaRow!.name, "Alpha Corp")
        assert.deepStrictEqual(yield* TestService.allRecords(api.beta, "accounts", { account_id: "tenant-1" }), [])
        const betaGet = yield* Effect.flip(
          api.beta.records.getRecord({ path: { object: "accounts", id: alphaRow!._id as string } })
        )
        assert.strictEqual(betaGet._tag, "RecordNotFound")
        // The same match key value in beta is another row; alpha's is untouched.
        yield* api.beta.records.upsertBatch({
          path: { object: "accounts" },
          headers: { prefer: preferWait(10) },
          payload: { records: [{ account_id: "tenant-1", name: "Beta Inc" }], matchKey: "account_id" }
        })
        const [betaRow] = yield* TestService.allRecords(api.beta, "accounts", { account_id: "tenant-1" })
        assert.strictEqual(betaRow!.name, "Beta Inc")
        assert.notStrictEqual(betaRow!._id, alphaRow!._id)
        const [alphaAgain] = yield* TestService.allRecords(api.alpha, "accounts", { account_id: "tenant-1" })
        assert.strictEqual(alphaAgain!.name, "Alpha Corp")
        // NDJSON too.
        const ndjson = yield* TestService.rawGet("/public/v1/records/accounts?account_id=tenant-1", {
          token: TestService.tokens.beta,
          headers: { accept: "application/x-ndjson" }
        })
        const lines = ndjson.text.split("\n").filter((line) => line.length > 0)
        assert.deepStrictEqual(
          lines.map((line) => (JSON.parse(line) as { name: string }).name),
          ["Beta Inc"]
        )
      })
    )

    it.effect("a foreign job id answers 404 exactly like a missing one", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const accepted = yield* api.alpha.records.appendBatch({
          path: { object: "events" },
          headers: { prefer: preferWait(10) },
          payload: { records: [event, { event: "bad" }] }
        })
        const jobId = accepted.data.jobId
        const missingId = `rjob_${"0".repeat(10)}${jobId.slice(15)}`
        assert.strictEqual(missingId.length, jobId.length)
        for (const suffix of ["", "/errors"]) {
          const foreign = yield* TestService.rawGet(`/public/v1/records/events/jobs/${jobId}${suffix}`, {
            token: TestService.tokens.beta
          })
          const missing = yield* TestService.rawGet(`/public/v1/records/events/jobs/${missingId}${suffix}`, {
            token: TestService.tokens.beta
          })
          TestService.expectError(foreign, 404, "JobNotFound")
          assert.strictEqual(foreign.status, missing.status)
          assert.strictEqual(foreign.text.replace(jobId, "<id>"), missing.text.replace(missingId, "<id>"))
          const headersOf = (response: TestService.RawResponse) =>
            Object.keys(response.headers)
              .filter((name) => name !== "date" && name !== ResponseHeaders.rateLimit)
              .sort()
          assert.deepStrictEqual(headersOf(foreign), headersOf(missing))
        }
        // The owner still reads it.
        const own = yield* api.alpha.jobs.getJob({ path: { object: "events", jobId }, headers: {} })
        assert.strictEqual(own.data.metrics.invalidRows, 1)
      })
    )

    it.effect("a workspace's idempotency keys do not answer another workspace's requests", () =>
      Effect.gen(function* () {
        const key = `tenant-key-${Date.now()}`
        const path = "/public/v1/records/events/append-batch"
        const body = JSON.stringify({ records: [event] })
        const alpha = yield* TestService.rawPost(path, body, {
          token: TestService.tokens.alpha,
          headers: { "idempotency-key": key }
        })
        const beta = yield* TestService.rawPost(path, body, {
          token: TestService.tokens.beta,
          headers: { "idempotency-key": key }
        })
        assert.strictEqual(alpha.status, 202)
        assert.strictEqual(beta.status, 202)
        assert.isUndefined(beta.headers[ResponseHeaders.idempotentReplayed])
        assert.notStrictEqual(
          TestService.dataOf<{ jobId: string }>(alpha).jobId,
          TestService.dataOf<{ jobId: string }>(beta).jobId
        )
      })
    )
  })
})
