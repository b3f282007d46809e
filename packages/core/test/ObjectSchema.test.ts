import { assert, describe, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import {
  defaultObjects,
  eventsObject,
  makeObjectDefinition,
  ObjectDefinition,
  ObjectDefinitionInput,
  ObjectName,
  profilesObject,
  schemaChangeConflicts
} from "../src/ObjectSchema.js"

/** The problems of decoding `input`, as `[path, message]` pairs; empty when it decodes. */
const problems = <A, I>(schema: Schema.Schema<A, I>, input: unknown): ReadonlyArray<readonly [string, string]> => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all" })(input)
  return Either.isRight(result)
    ? []
    : ParseResult.ArrayFormatter.formatErrorSync(result.left).map((issue) => [issue.path.join("."), issue.message])
}

const decodeInput = Schema.decodeUnknownSync(ObjectDefinitionInput)

describe("ObjectSchema", () => {
  describe("default objects", () => {
    it("are events and profiles exactly as SPEC §1.1 lists them", () => {
      assert.deepStrictEqual(
        defaultObjects.map((object) => object.name),
        ["events", "profiles"]
      )
      assert.deepStrictEqual(eventsObject, {
        name: "events",
        fields: {
          session_id: { type: "string" },
          event: { type: "string", required: true },
          url: { type: "string" },
          occurred_at: { type: "datetime", required: true },
          user_id: { type: "string" },
          properties: { type: "json" }
        },
        matchKeys: []
      })
      assert.deepStrictEqual(profilesObject, {
        name: "profiles",
        fields: {
          email: { type: "email", required: true },
          external_id: { type: "string" },
          first_name: { type: "string" },
          last_name: { type: "string" },
          tier: { type: "string" },
          last_seen_at: { type: "datetime" },
          attributes: { type: "json" }
        },
        matchKeys: ["email", "external_id"]
      })
    })
    it("are valid definitions that survive an encode/decode round trip", () => {
      for (const object of defaultObjects) {
        assert.deepStrictEqual(problems(ObjectDefinition, object), [])
        const json = JSON.parse(JSON.stringify(Schema.encodeSync(ObjectDefinition)(object)))
        assert.deepStrictEqual(Schema.decodeUnknownSync(ObjectDefinition)(json), object)
      }
    })
  })

  describe("object names", () => {
    it("follow ^[a-z][a-z0-9_]{0,62}$", () => {
      for (const name of ["events", "a", "web_events_2", `a${"b".repeat(62)}`]) {
        assert.deepStrictEqual(problems(ObjectName, name), [])
      }
      for (const name of ["Events", "2events", "_events", "web-events", "", `a${"b".repeat(63)}`]) {
        assert.strictEqual(problems(ObjectName, name).length, 1, name)
      }
      assert.deepStrictEqual(problems(ObjectName, "Events"), [
        [
          "",
          'invalid object name "Events": an object name starts with a lower-case letter and holds only a-z, 0-9 ' +
            "and _ (at most 63 characters)"
        ]
      ])
    })
  })

  describe("the PUT body", () => {
    it("decodes a schema, with no match keys by default", () => {
      assert.deepStrictEqual(decodeInput({ fields: { name: { type: "string", maxLength: 20 } } }), {
        fields: { name: { type: "string", maxLength: 20 } },
        matchKeys: []
      })
      const input = decodeInput({
        fields: { id: { type: "string", required: true }, seen_at: { type: "datetime" }, Score: { type: "number" } },
        matchKeys: ["id"],
        orderBy: "seen_at"
      })
      assert.deepStrictEqual(makeObjectDefinition("people", input), {
        name: "people",
        fields: { id: { type: "string", required: true }, seen_at: { type: "datetime" }, Score: { type: "number" } },
        matchKeys: ["id"],
        orderBy: "seen_at"
      })
    })
    it("rejects bad field names and reserved ones", () => {
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { _id: { type: "string" } } }), [
        [
          "fields._id",
          'invalid field name "_id": a field name starts with a letter and holds only letters, digits and _ ' +
            "(at most 63 characters); names starting with _ are reserved"
        ]
      ])
      for (const name of ["1st", "first-name", "first name", "", "__proto__", `a${"b".repeat(63)}`]) {
        assert.strictEqual(problems(ObjectDefinitionInput, { fields: { [name]: { type: "string" } } }).length, 1, name)
      }
    })
    it("rejects unknown types, unknown properties and misplaced maxLength", () => {
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { a: { type: "text" } } }), [
        ["fields.a.type", "type must be one of string, integer, number, boolean, datetime, date, email, json"]
      ])
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { a: { type: "string", requierd: true } } }), [
        ["fields.a.requierd", 'is unexpected, expected: "type" | "required" | "maxLength"']
      ])
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { a: { type: "integer", maxLength: 3 } } }), [
        ["fields.a.maxLength", "maxLength applies to string fields only, not to integer fields"]
      ])
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { a: { type: "string", maxLength: 0 } } }), [
        ["fields.a.maxLength", "maxLength must be a whole number of at least 1"]
      ])
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { name: "x", fields: { a: { type: "string" } } }), [
        ["name", 'is unexpected, expected: "fields" | "matchKeys" | "orderBy"']
      ])
    })
    it("checks match keys and orderBy against the fields, reporting each problem", () => {
      const input = {
        fields: { data: { type: "json" }, id: { type: "string" }, tier: { type: "string" } },
        matchKeys: ["data", "phone", "id", "id"],
        orderBy: "tier"
      }
      assert.deepStrictEqual(problems(ObjectDefinitionInput, input), [
        ["matchKeys.0", 'match key "data" is a json field; a match key must be a field of a scalar type'],
        ["matchKeys.1", 'match key "phone" is not a field of the object'],
        ["matchKeys.3", 'match key "id" is listed more than once'],
        ["orderBy", 'orderBy "tier" is a string field; it must be a datetime, integer or number field']
      ])
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { a: { type: "integer" } }, orderBy: "b" }), [
        ["orderBy", 'orderBy "b" is not a field of the object']
      ])
      for (const type of ["datetime", "integer", "number"]) {
        assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: { at: { type } }, orderBy: "at" }), [])
      }
    })
    it("does not take a match key from the prototype of the fields", () => {
      assert.deepStrictEqual(
        problems(ObjectDefinitionInput, { fields: { a: { type: "string" } }, matchKeys: ["constructor"] }),
        [["matchKeys.0", 'match key "constructor" is not a field of the object']]
      )
    })
    it("needs at least one field", () => {
      assert.deepStrictEqual(problems(ObjectDefinitionInput, { fields: {} }), [
        ["fields", "an object needs at least one field"]
      ])
    })
  })

  describe("schema changes", () => {
    it("allow adding and removing fields and changing required or maxLength", () => {
      const next = {
        fields: {
          email: { type: "email" as const },
          external_id: { type: "string" as const, required: true, maxLength: 64 },
          plan: { type: "string" as const }
        }
      }
      assert.deepStrictEqual(schemaChangeConflicts(profilesObject, next), [])
    })
    it("conflict on every field whose type changes", () => {
      const next = {
        fields: {
          email: { type: "string" as const },
          external_id: { type: "string" as const },
          last_seen_at: { type: "integer" as const }
        }
      }
      assert.deepStrictEqual(schemaChangeConflicts(profilesObject, next), [
        { field: "email", previousType: "email", nextType: "string" },
        { field: "last_seen_at", previousType: "datetime", nextType: "integer" }
      ])
    })
  })
})
