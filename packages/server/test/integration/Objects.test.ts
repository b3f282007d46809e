/**
 * SPEC §1.1 objects over real HTTP: the default `events` and `profiles`, reading objects, and `PUT` to create (201)
 * or replace (200) a schema, with 409 for a type change, 403 without the admin scope and 400 for a bad schema; rows
 * stored before a change are kept as they are.
 */
import { preferWait, ResponseHeaders } from "@batchwrite/api"
import { type Job, ObjectSchema } from "@batchwrite/core"
import { HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestService from "../support/TestService.js"

TestService.forEachAdapter((adapter) => {
  // The defaults as core defines them (core's own tests hold them to SPEC §1.1).
  const specEvents = ObjectSchema.eventsObject
  const specProfiles = ObjectSchema.profilesObject

  const widgetFields = {
    sku: { type: "string", required: true },
    color: { type: "string" },
    size: { type: "integer" }
  } as const

  const rawPut = (name: string, body: string, contentType = "application/json") =>
    TestService.send(
      HttpClientRequest.put(`/public/v1/objects/${name}`).pipe(
        HttpClientRequest.bearerToken(TestService.tokens.alpha),
        HttpClientRequest.bodyText(body, contentType)
      )
    )

  layer(TestService.layer({ adapter }), { excludeTestServices: true })("objects (SPEC §1.1)", (it) => {
    it.effect("a workspace starts with events and profiles as SPEC describes them, listed by name", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const { objects } = (yield* api.alpha.objects.listObjects()).data
        const names = objects.map((object) => object.name)
        assert.deepStrictEqual(names, [...names].sort())
        assert.includeMembers(names, ["events", "profiles", "accounts", "counters"])
        assert.deepStrictEqual(
          objects.find((object) => object.name === "events"),
          specEvents
        )
        assert.deepStrictEqual(
          objects.find((object) => object.name === "profiles"),
          specProfiles
        )
        // beta is configured with `accounts` only.
        const betaNames = (yield* api.beta.objects.listObjects()).data.objects.map((object) => object.name)
        assert.deepStrictEqual(betaNames, ["accounts", "events", "profiles"])
      })
    )

    it.effect("an object is read by name; an unknown name is 404 NOT_FOUND.OBJECT", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        const events = yield* api.alphaRead.objects.getObject({ path: { name: "events" } })
        assert.deepStrictEqual(events.data, specEvents)
        const accounts = yield* api.alphaWrite.objects.getObject({ path: { name: "accounts" } })
        assert.deepStrictEqual(accounts.data.matchKeys, ["account_id", "slug"])
        assert.strictEqual(accounts.data.orderBy, "updated_at")
        const missing = yield* Effect.flip(api.alpha.objects.getObject({ path: { name: "nothing_here" } }))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })
    )

    it.effect(
      "PUT creates an object (201, Location) and replaces its schema (200); stored rows are kept as they are",
      () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const [created, createdResponse] = yield* api.alphaAdmin.objects.putObject({
            path: { name: "widgets" },
            payload: { fields: widgetFields, matchKeys: ["sku"] },
            withResponse: true
          })
          assert.strictEqual(createdResponse.status, 201)
          assert.deepStrictEqual(created.data, { name: "widgets", fields: widgetFields, matchKeys: ["sku"] })
          assert.deepStrictEqual((yield* api.alpha.objects.getObject({ path: { name: "widgets" } })).data, created.data)

          const stored = yield* api.alpha.records.upsertBatch({
            path: { object: "widgets" },
            headers: { prefer: preferWait(10) },
            payload: { records: [{ sku: "w-1", color: "red", size: 3 }], matchKey: "sku" }
          })
          assert.strictEqual((stored.data as Job.Job).metrics.insertedRows, 1)

          // Remove `color`, add `weight` and a match key on it.
          const nextFields = { sku: widgetFields.sku, size: widgetFields.size, weight: { type: "number" } } as const
          const [replaced, replacedResponse] = yield* api.alphaAdmin.objects.putObject({
            path: { name: "widgets" },
            payload: { fields: nextFields, matchKeys: ["sku", "weight"] },
            withResponse: true
          })
          assert.strictEqual(replacedResponse.status, 200)
          assert.deepStrictEqual(replaced.data, { name: "widgets", fields: nextFields, matchKeys: ["sku", "weight"] })
          assert.deepStrictEqual(
            (yield* api.alpha.objects.getObject({ path: { name: "widgets" } })).data,
            replaced.data
          )

          // The stored row still has its `color`; new batches may not carry it.
          const rows = yield* TestService.allRecords(api.alpha, "widgets", { sku: "w-1" })
          assert.deepStrictEqual(rows.map(TestService.fieldsOf), [{ sku: "w-1", color: "red", size: 3 }])
          const withColor = yield* Effect.flip(
            api.alpha.records.appendBatch({
              path: { object: "widgets" },
              headers: {},
              payload: { records: [{ sku: "w-2", color: "blue" }] }
            })
          )
          assert.strictEqual(withColor._tag, "SchemaMismatch")
          const merged = yield* api.alpha.records.upsertBatch({
            path: { object: "widgets" },
            headers: { prefer: preferWait(10) },
            payload: { records: [{ sku: "w-1", weight: 1.5 }], matchKey: "sku" }
          })
          assert.strictEqual((merged.data as Job.Job).metrics.updatedRows, 1)
          const [row] = yield* TestService.allRecords(api.alpha, "widgets", { sku: "w-1" })
          assert.deepStrictEqual(TestService.fieldsOf(row!), { sku: "w-1", color: "red", size: 3, weight: 1.5 })

          // The Location of the 201 points at the object (OpenAPI: "Creates the object (201, Location pointing at it)").
          assert.strictEqual(createdResponse.headers[ResponseHeaders.location], "/public/v1/objects/widgets")
        })
    )

    it.effect("changing an existing field's type is 409 OBJECT.CONFLICT with the conflicts; nothing changes", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        yield* api.alpha.objects.putObject({
          path: { name: "gadgets" },
          payload: { fields: widgetFields, matchKeys: ["sku"] }
        })
        const conflict = yield* Effect.flip(
          api.alpha.objects.putObject({
            path: { name: "gadgets" },
            payload: {
              fields: { ...widgetFields, size: { type: "string" }, color: { type: "json" }, extra: { type: "date" } },
              matchKeys: ["sku"]
            }
          })
        )
        assert.strictEqual(conflict._tag, "ObjectConflict")
        if (conflict._tag !== "ObjectConflict") return
        assert.sameDeepMembers(
          [...conflict.conflicts],
          [
            { field: "color", previousType: "string", nextType: "json" },
            { field: "size", previousType: "integer", nextType: "string" }
          ]
        )
        assert.deepStrictEqual(
          (yield* api.alpha.objects.getObject({ path: { name: "gadgets" } })).data.fields,
          widgetFields
        )
        // The default objects are guarded the same way.
        const onDefault = yield* Effect.flip(
          api.alpha.objects.putObject({
            path: { name: "events" },
            payload: { fields: { ...specEvents.fields, occurred_at: { type: "date", required: true } }, matchKeys: [] }
          })
        )
        assert.strictEqual(onDefault._tag, "ObjectConflict")
        assert.deepStrictEqual((yield* api.alpha.objects.getObject({ path: { name: "events" } })).data, specEvents)
      })
    )

    it.effect("PUT without the admin scope is 403 FORBIDDEN and creates nothing", () =>
      Effect.gen(function* () {
        const { api } = yield* TestService.TestService
        for (const token of ["alphaWrite", "alphaRead"] as const) {
          const error = yield* Effect.flip(
            api[token].objects.putObject({
              path: { name: "not_allowed" },
              payload: { fields: widgetFields, matchKeys: [] }
            })
          )
          assert.strictEqual(error._tag, "Forbidden", token)
        }
        const missing = yield* Effect.flip(api.alpha.objects.getObject({ path: { name: "not_allowed" } }))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })
    )

    it.effect(
      "a bad schema or object name is 400 REQUEST_INVALID; a body that is not JSON 400, not JSON-typed 415",
      () =>
        Effect.gen(function* () {
          const { api } = yield* TestService.TestService
          const bad = [
            { fields: {} },
            { fields: { a: { type: "uuid" } } },
            { fields: { a: { type: "string" } }, matchKeys: ["b"] },
            { fields: { a: { type: "json" } }, matchKeys: ["a"] },
            { fields: { a: { type: "string" } }, orderBy: "a" },
            { fields: { a: { type: "string" } }, orderBy: "missing" },
            { fields: { "1a": { type: "string" } } },
            { fields: { _id: { type: "string" } } },
            { fields: { a: { type: "string", requierd: true } } },
            { fields: { a: { type: "integer", maxLength: 3 } } },
            { fields: { a: { type: "string" } }, extra: 1 },
            { matchKeys: [] }
          ]
          for (const schema of bad) {
            const response = yield* rawPut("bad_schema", JSON.stringify(schema))
            TestService.expectError(response, 400, "RequestInvalid")
          }
          for (const name of ["Bad", "9lives", "has-dash", "x".repeat(64)]) {
            const response = yield* rawPut(name, JSON.stringify({ fields: { a: { type: "string" } } }))
            TestService.expectError(response, 400, "RequestInvalid")
          }
          TestService.expectError(yield* rawPut("bad_schema", '{"fields": '), 400, "RequestInvalid")
          TestService.expectError(
            yield* rawPut("bad_schema", JSON.stringify({ fields: { a: { type: "string" } } }), "text/plain"),
            415,
            "UnsupportedMediaType"
          )
          const missing = yield* Effect.flip(api.alpha.objects.getObject({ path: { name: "bad_schema" } }))
          assert.strictEqual(missing._tag, "ObjectNotFound")
        })
    )
  })
})
