import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { FieldDefinition, FieldType, ObjectDefinition } from "../src/ObjectSchema.js"
import { eventsObject, profilesObject } from "../src/ObjectSchema.js"
import type { RowError } from "../src/RowError.js"
import {
  compileValidator,
  datetimeEpochMillis,
  escapePointerToken,
  findUnknownFields,
  orderByValue,
  validateRecord
} from "../src/RecordValidation.js"

const objectWith = (
  fields: Record<string, FieldDefinition>,
  extra: Partial<ObjectDefinition> = {}
): ObjectDefinition => ({
  name: "things",
  fields,
  matchKeys: [],
  ...extra
})

const single = (type: FieldType, definition: Partial<FieldDefinition> = {}) =>
  objectWith({ value: { type, ...definition } })

const errorsOf = (definition: ObjectDefinition, record: unknown, index = 0): ReadonlyArray<RowError> => {
  const result = validateRecord(definition, record, index)
  return result._tag === "Invalid" ? result.errors : []
}

const accepts = (type: FieldType, value: unknown, definition: Partial<FieldDefinition> = {}) => {
  const result = validateRecord(single(type, definition), { value }, 0)
  assert.strictEqual(result._tag, "Valid", `${type} should accept ${typeof value === "string" ? value : typeof value}`)
}

const rejects = (type: FieldType, value: unknown, message?: string, definition: Partial<FieldDefinition> = {}) => {
  const errors = errorsOf(single(type, definition), { value })
  assert.strictEqual(
    errors.length,
    1,
    `${type} should reject ${typeof value === "string" ? value.slice(0, 40) : typeof value}`
  )
  const error = errors[0]!
  assert.strictEqual(error.code, "CDP_ETL.VALIDATION.REQUEST_INVALID")
  assert.strictEqual(error.field, "value")
  assert.strictEqual(error.pointer, "/records/0/value")
  if (message !== undefined) assert.strictEqual(error.message, message)
}

const event = {
  session_id: "s1",
  event: "page_view",
  url: "https://example.com/",
  occurred_at: "2026-04-21T15:00:00Z",
  user_id: "u1",
  properties: { plan: "pro", tags: ["a"] }
}

const nested = (depth: number): unknown => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

describe("RecordValidation", () => {
  describe("string", () => {
    it("accepts strings up to maxLength, counting code points", () => {
      accepts("string", "")
      accepts("string", "x".repeat(65_535))
      accepts("string", "abc", { maxLength: 3 })
      accepts("string", "😀😀😀", { maxLength: 3 })
    })
    it("rejects other types and longer strings", () => {
      rejects("string", 12, "expected a string, got 12")
      rejects("string", true, "expected a string, got true")
      rejects("string", { a: 1 }, "expected a string, got an object")
      rejects("string", ["a"], "expected a string, got an array")
      rejects("string", "x".repeat(65_536), "string longer than 65535 characters (65536)")
      rejects("string", "x".repeat(25), "string longer than 20 characters (25)", { maxLength: 20 })
      rejects("string", "😀😀😀😀", "string longer than 3 characters (4)", { maxLength: 3 })
    })
  })

  describe("match-key strings", () => {
    it("hold at most 512 characters (they are indexed); other strings keep their own limit", () => {
      const keyed = objectWith({ code: { type: "string" }, note: { type: "string" } }, { matchKeys: ["code"] })
      assert.deepStrictEqual(errorsOf(keyed, { code: "k".repeat(512), note: "n".repeat(5_000) }), [])
      const [error, ...rest] = errorsOf(keyed, { code: "k".repeat(513) })
      assert.deepStrictEqual(rest, [])
      assert.strictEqual(error?.pointer, "/records/0/code")
      assert.strictEqual(
        error?.message,
        "string longer than 512 characters (513); values of a match key are indexed and hold at most 512 characters"
      )
      const short = objectWith({ code: { type: "string", maxLength: 40 } }, { matchKeys: ["code"] })
      assert.strictEqual(errorsOf(short, { code: "k".repeat(41) })[0]?.message, "string longer than 40 characters (41)")
    })
  })

  describe("integer", () => {
    it("accepts whole numbers in the safe range", () => {
      for (const value of [0, -0, 1, -12, 1.0, 2 ** 53 - 1, -(2 ** 53 - 1)]) accepts("integer", value)
    })
    it("rejects strings, fractions and out-of-range numbers", () => {
      rejects("integer", "12", 'expected an integer, got "12"')
      rejects("integer", 1.5, "expected an integer, got 1.5")
      rejects("integer", true, "expected an integer, got true")
      rejects("integer", 2 ** 53, "integer out of the safe range ±9007199254740991: 9007199254740992")
      rejects("integer", -1e21)
      rejects("integer", Number.NaN)
    })
  })

  describe("number", () => {
    it("accepts finite numbers", () => {
      for (const value of [0, -1.5, 1e300, 5e-324, 2 ** 60]) accepts("number", value)
    })
    it("rejects strings and non-finite values", () => {
      rejects("number", "1.5", 'expected a number, got "1.5"')
      rejects("number", "NaN", 'expected a number, got "NaN"')
      rejects("number", Number.NaN, "expected a finite number, got NaN")
      rejects("number", Number.POSITIVE_INFINITY, "expected a finite number, got Infinity")
      rejects("number", false)
    })
  })

  describe("boolean", () => {
    it("accepts true and false only", () => {
      accepts("boolean", true)
      accepts("boolean", false)
      rejects("boolean", "true", 'expected true or false, got "true"')
      rejects("boolean", 0, "expected true or false, got 0")
      rejects("boolean", 1, "expected true or false, got 1")
    })
  })

  describe("datetime", () => {
    it("accepts RFC 3339 date-times with a zone", () => {
      for (const value of [
        "2026-04-21T15:00:00Z",
        "2026-04-21T15:00:00+02:00",
        "2026-04-21T15:00:00-05:30",
        "2026-04-21T15:00:00+14:00",
        "2026-04-21T15:00:00-12:00",
        "2026-04-21T15:00:00-00:00",
        "2026-04-21t15:00:00z",
        "2026-04-21 15:00:00Z",
        "2026-04-21T15:00:00.1Z",
        "2026-04-21T15:00:00.123456789+01:00",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z",
        "2016-12-31T23:59:60Z",
        "2016-12-31T18:59:60-05:00"
      ]) {
        accepts("datetime", value)
      }
    })
    it("rejects a date-time without a zone", () => {
      rejects("datetime", "2026-04-21T15:00:00", "datetime needs a zone: 2026-04-21T15:00:00")
      rejects("datetime", "2026-04-21T15:00:00.5", "datetime needs a zone: 2026-04-21T15:00:00.5")
    })
    it("rejects impossible dates and times", () => {
      rejects("datetime", "2026-02-29T00:00:00Z", "not a real calendar date: 2026-02-29T00:00:00Z")
      rejects("datetime", "2026-02-30T10:00:00Z", "not a real calendar date: 2026-02-30T10:00:00Z")
      rejects("datetime", "2026-04-31T10:00:00Z")
      rejects("datetime", "1900-02-29T10:00:00Z")
      rejects("datetime", "2026-13-01T10:00:00Z")
      rejects("datetime", "2026-00-01T10:00:00Z")
      rejects("datetime", "2026-01-00T10:00:00Z")
      rejects("datetime", "2026-04-21T24:00:00Z", "time out of range: 2026-04-21T24:00:00Z")
      rejects("datetime", "2026-04-21T15:60:00Z")
      rejects("datetime", "2026-04-21T15:00:61Z")
      rejects("datetime", "2026-04-21T15:00:60Z")
      rejects("datetime", "2026-04-21T15:00:00+24:00")
      rejects("datetime", "2026-04-21T15:00:00+02:60")
    })
    it("rejects other forms", () => {
      for (const value of [
        "2026-04-21",
        "2026-04-21T15:00Z",
        "2026-04-21T15:00:00+0200",
        "2026-04-21T15:00:00+02",
        "2026-04-21T15:00:00.Z",
        "2026-04-21T15:00:00ZZ",
        "2026-04-21X15:00:00Z",
        "2026-04-21T15:00:00 Z",
        "26-04-21T15:00:00Z",
        "+002026-04-21T15:00:00Z",
        " 2026-04-21T15:00:00Z",
        "2026-04-21T15:00:00Z ",
        "",
        "now"
      ]) {
        rejects("datetime", value)
      }
      rejects("datetime", 1_776_783_600_000, "expected an RFC 3339 date-time string, got 1776783600000")
    })
  })

  describe("date", () => {
    it("accepts real calendar dates", () => {
      for (const value of ["2026-04-21", "2024-02-29", "2000-02-29", "0001-01-01", "2026-12-31"]) accepts("date", value)
    })
    it("rejects anything else", () => {
      rejects("date", "2026-02-29", "not a real calendar date: 2026-02-29")
      rejects("date", "2026-04-31")
      rejects("date", "2026-4-21", "not a date YYYY-MM-DD: 2026-4-21")
      rejects("date", "2026-04-21T00:00:00Z")
      rejects("date", "20260421")
      rejects("date", "2026/04/21")
      rejects("date", 20_260_421, "expected a date string YYYY-MM-DD, got 20260421")
    })
  })

  describe("email", () => {
    it("accepts plausible addresses and stores them lower-cased", () => {
      for (const value of [
        "a@b.co",
        "first.last+tag@example.co.uk",
        "user@localhost",
        "o'neil@x-y.io",
        "ü@bücher.de"
      ]) {
        accepts("email", value)
      }
      const result = validateRecord(single("email"), { value: "Ada.Lovelace@Example.COM", other: undefined }, 0)
      assert.deepStrictEqual(result, { _tag: "Valid", record: { value: "ada.lovelace@example.com", other: undefined } })
    })
    it("does not change the record it was given", () => {
      const record = { value: "A@B.CO" }
      validateRecord(single("email"), record, 0)
      assert.deepStrictEqual(record, { value: "A@B.CO" })
    })
    it("rejects implausible addresses", () => {
      rejects("email", "ada.example.com", "email address needs an @: ada.example.com")
      rejects(
        "email",
        "ada lovelace@example.com",
        "email address contains a space or control character: ada lovelace@example.com"
      )
      rejects("email", "ada@exa\u00a0mple.com", "email address contains a space: ada@exa\u00a0mple.com")
      rejects("email", "a@b@c.com", "email address has more than one @: a@b@c.com")
      rejects("email", "@example.com", "email address has nothing before the @: @example.com")
      rejects("email", "ada@", "email address has nothing after the @: ada@")
      rejects("email", `${"a".repeat(243)}@example.com`, "email address longer than 254 characters (255)")
      for (const value of [
        ".ada@x.com",
        "ada.@x.com",
        "a..b@x.com",
        "a(b)@x.com",
        "a@x..com",
        "a@.x.com",
        "a@x.com."
      ]) {
        rejects("email", value)
      }
      for (const value of ["a@-x.com", "a@x-.com", "a@x_y.com", "a@[127.0.0.1]", `a@${"x".repeat(64)}.com`]) {
        rejects("email", value)
      }
      rejects("email", 12, "expected an email address string, got 12")
    })
  })

  describe("json", () => {
    it("accepts any JSON value up to depth 32", () => {
      for (const value of [1, "a", true, [], {}, { a: [1, { b: null }] }, nested(32)]) accepts("json", value)
    })
    it("rejects deeper nesting", () => {
      rejects("json", nested(33), "JSON value nested deeper than 32 levels")
      let deepObject: unknown = {}
      for (let i = 0; i < 33; i++) deepObject = { a: deepObject }
      rejects("json", deepObject, "JSON value nested deeper than 32 levels")
    })
    it("rejects a 100,000-deep array without overflowing the stack", () => {
      rejects("json", nested(100_000), "JSON value nested deeper than 32 levels")
      const parsed = JSON.parse(`{"value":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)
      assert.strictEqual(errorsOf(single("json"), parsed)[0]!.message, "JSON value nested deeper than 32 levels")
    })
    it("rejects values JSON cannot represent", () => {
      rejects("json", [1, undefined])
      rejects("json", { a: Number.NaN })
      rejects("json", new Date(0))
      rejects("json", new Map())
    })
  })

  describe("null, required and missing fields", () => {
    it("accepts null and absence for fields that are not required", () => {
      for (const type of ["string", "integer", "number", "boolean", "datetime", "date", "email", "json"] as const) {
        accepts(type, null)
        assert.strictEqual(validateRecord(single(type), {}, 0)._tag, "Valid")
      }
    })
    it("rejects a required field that is missing or null", () => {
      const definition = single("string", { required: true })
      assert.deepStrictEqual(errorsOf(definition, {}, 4), [
        {
          index: 4,
          code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
          field: "value",
          pointer: "/records/4/value",
          message: 'required field "value" is missing'
        }
      ])
      assert.strictEqual(errorsOf(definition, { value: null })[0]!.message, 'required field "value" is null')
    })
    it("does not take a field from the prototype for a missing one", () => {
      const definition = objectWith({ constructor: { type: "string" as const, required: true } })
      assert.strictEqual(errorsOf(definition, {})[0]!.message, 'required field "constructor" is missing')
    })
  })

  describe("whole rows", () => {
    it("accepts a valid event as it is", () => {
      const result = validateRecord(eventsObject, event, 0)
      assert.strictEqual(result._tag, "Valid")
      if (result._tag === "Valid") assert.strictEqual(result.record, event)
    })
    it("reports every problem of a row", () => {
      const errors = errorsOf(
        eventsObject,
        { session_id: 7, url: null, occurred_at: "2026-04-21T15:00:00", color: "red", properties: nested(40) },
        2
      )
      assert.deepStrictEqual(
        errors.map((error) => [error.field, error.code, error.pointer, error.message]),
        [
          ["session_id", "CDP_ETL.VALIDATION.REQUEST_INVALID", "/records/2/session_id", "expected a string, got 7"],
          [
            "occurred_at",
            "CDP_ETL.VALIDATION.REQUEST_INVALID",
            "/records/2/occurred_at",
            "datetime needs a zone: 2026-04-21T15:00:00"
          ],
          [
            "color",
            "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
            "/records/2/color",
            'field "color" is not on the schema of object "events"'
          ],
          [
            "properties",
            "CDP_ETL.VALIDATION.REQUEST_INVALID",
            "/records/2/properties",
            "JSON value nested deeper than 32 levels"
          ],
          ["event", "CDP_ETL.VALIDATION.REQUEST_INVALID", "/records/2/event", 'required field "event" is missing']
        ]
      )
    })
    it("rejects a record that is not a JSON object with one error for the row", () => {
      for (const [record, shown] of [
        [null, "null"],
        [[1], "an array"],
        ["x", '"x"'],
        [3, "3"],
        [new Date(0), "an object"]
      ] as const) {
        assert.deepStrictEqual(errorsOf(eventsObject, record, 9), [
          {
            index: 9,
            code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
            field: null,
            pointer: "/records/9",
            message: `record must be a JSON object, got ${shown}`
          }
        ])
      }
    })
    it("escapes pointers as RFC 6901 says", () => {
      assert.strictEqual(escapePointerToken("a/b~c"), "a~1b~0c")
      assert.strictEqual(escapePointerToken("~1"), "~01")
      const [error] = errorsOf(eventsObject, { ...event, "a/b~c": 1 }, 3)
      assert.strictEqual(error!.pointer, "/records/3/a~1b~0c")
      assert.strictEqual(error!.field, "a/b~c")
    })
    it("uses the base pointer it is given", () => {
      const append = validateRecord(eventsObject, { ...event, event: 1 }, 0, { basePointer: "" })
      assert.strictEqual(append._tag === "Invalid" && append.errors[0]!.pointer, "/event")
      const upsert = validateRecord(profilesObject, 1, 0, { matchKey: "email", basePointer: "/record" })
      assert.strictEqual(upsert._tag === "Invalid" && upsert.errors[0]!.pointer, "/record")
    })
    it("never reads a throwing getter into an exception", () => {
      const record = Object.defineProperty({}, "event", {
        enumerable: true,
        get: () => {
          throw new Error("boom")
        }
      })
      assert.strictEqual(errorsOf(eventsObject, record)[0]!.message, "record could not be read as a JSON object")
    })
  })

  describe("match keys", () => {
    const validator = compileValidator(profilesObject, { matchKey: "external_id" })
    it("accepts a record with a value for the match key", () => {
      assert.strictEqual(validator({ email: "a@b.co", external_id: "x1" }, 0)._tag, "Valid")
    })
    it("rejects a record without a value for the match key, once", () => {
      const missing = validator({ email: "a@b.co" }, 5)
      assert.deepStrictEqual(missing._tag === "Invalid" && missing.errors, [
        {
          index: 5,
          code: "CDP_ETL.VALIDATION.REQUEST_INVALID",
          field: "external_id",
          pointer: "/records/5/external_id",
          message: 'no value for the match key "external_id"'
        }
      ])
      const isNull = validateRecord(profilesObject, { external_id: null }, 0, { matchKey: "email" })
      assert.deepStrictEqual(isNull._tag === "Invalid" && isNull.errors.map((error) => error.message), [
        'no value for the match key "email"'
      ])
    })
    it("rejects every record when the match key is not a field", () => {
      const result = validateRecord(profilesObject, { email: "a@b.co" }, 0, { matchKey: "phone" })
      assert.deepStrictEqual(result._tag === "Invalid" && result.errors, [
        {
          index: 0,
          code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA",
          field: "phone",
          pointer: "/records/0/phone",
          message: 'match key "phone" is not a field of object "profiles"'
        }
      ])
    })
  })

  describe("findUnknownFields", () => {
    it("lists each unknown field once with its first index, in order of first appearance", () => {
      const records = [event, { ...event, zeta: 1 }, "not an object", { alpha: 1, zeta: 2 }, { ...event, alpha: 3 }]
      assert.deepStrictEqual(findUnknownFields(eventsObject, records), [
        { field: "zeta", firstIndex: 1 },
        { field: "alpha", firstIndex: 3 }
      ])
    })
    it("finds nothing in a valid batch, and not fields of the prototype", () => {
      assert.deepStrictEqual(findUnknownFields(eventsObject, [event, event]), [])
      assert.deepStrictEqual(findUnknownFields(eventsObject, new Set([Object.create({ inherited: 1 })])), [])
    })
  })

  describe("orderBy", () => {
    const definition = objectWith(
      { id: { type: "string" }, at: { type: "datetime" }, version: { type: "integer" } },
      { matchKeys: ["id"], orderBy: "at" }
    )
    it("compares datetimes with different offsets by instant", () => {
      const utc = orderByValue(definition, { at: "2026-04-21T15:00:00Z" })
      assert.strictEqual(utc, Date.UTC(2026, 3, 21, 15))
      assert.strictEqual(orderByValue(definition, { at: "2026-04-21T17:00:00+02:00" }), utc)
      assert.isTrue(orderByValue(definition, { at: "2026-04-21T16:00:00+02:00" })! < utc!)
    })
    it("keeps milliseconds exact and orders sub-millisecond digits", () => {
      assert.strictEqual(datetimeEpochMillis("2026-04-21T15:00:00.123Z"), Date.UTC(2026, 3, 21, 15, 0, 0, 123))
      const a = datetimeEpochMillis("2026-04-21T15:00:00.123456Z")!
      const b = datetimeEpochMillis("2026-04-21T15:00:00.123457Z")!
      assert.isTrue(a < b)
      assert.strictEqual(datetimeEpochMillis("0000-03-01T00:00:00Z"), Date.parse("0000-03-01T00:00:00Z"))
      assert.strictEqual(datetimeEpochMillis("2026-04-21T15:00:00"), undefined)
    })
    it("reads integers and numbers as themselves and anything else as undefined", () => {
      assert.strictEqual(orderByValue({ ...definition, orderBy: "version" }, { version: 7 }), 7)
      assert.strictEqual(orderByValue(definition, { at: null }), undefined)
      assert.strictEqual(orderByValue(definition, {}), undefined)
      assert.strictEqual(orderByValue(eventsObject, event), undefined)
    })
  })

  describe("properties", () => {
    const fieldTypes: ReadonlyArray<FieldType> = [
      "string",
      "integer",
      "number",
      "boolean",
      "datetime",
      "date",
      "email",
      "json"
    ]
    const arbitraryDefinition = fc
      .uniqueArray(
        fc.record({
          name: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
          type: fc.constantFrom(...fieldTypes),
          required: fc.boolean()
        }),
        { minLength: 1, maxLength: 8, selector: (field) => field.name }
      )
      .map(
        (fields): ObjectDefinition =>
          objectWith(Object.fromEntries(fields.map((f) => [f.name, { type: f.type, required: f.required }])))
      )
    const anything = fc.oneof(
      fc.anything({
        withBoxedValues: true,
        withMap: true,
        withSet: true,
        withObjectString: true,
        withNullPrototype: true,
        withBigInt: true,
        withDate: true,
        withTypedArray: true,
        withSparseArray: true
      }),
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom(...Object.keys(eventsObject.fields), "x"), fc.jsonValue())
    )
    const checkResult = (result: ReturnType<typeof validateRecord>, index: number) => {
      if (result._tag === "Invalid") {
        assert.isAbove(result.errors.length, 0)
        for (const error of result.errors) {
          assert.strictEqual(error.index, index)
          assert.isTrue(error.pointer.startsWith(`/records/${index}`))
          assert.isString(error.message)
        }
      }
    }

    it("never throws on any value, for the default objects", () => {
      fc.assert(
        fc.property(anything, fc.nat(), (value, index) => {
          checkResult(validateRecord(eventsObject, value, index), index)
          checkResult(validateRecord(profilesObject, value, index, { matchKey: "email" }), index)
        }),
        { numRuns: 2_000 }
      )
    })
    it("never throws on any value, for any object definition", () => {
      fc.assert(
        fc.property(arbitraryDefinition, fc.oneof(anything, fc.object()), (definition, value) => {
          checkResult(validateRecord(definition, value, 0), 0)
          findUnknownFields(definition, [value])
        }),
        { numRuns: 1_000 }
      )
    })
    it("accepts every record built from valid values, as it is", () => {
      const validValue: Record<FieldType, fc.Arbitrary<unknown>> = {
        string: fc.string(),
        integer: fc.maxSafeInteger(),
        number: fc.double({ noNaN: true, noDefaultInfinity: true }),
        boolean: fc.boolean(),
        datetime: fc
          .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
          .map((date) => date.toISOString()),
        date: fc
          .date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true })
          .map((date) => date.toISOString().slice(0, 10)),
        email: fc.emailAddress().map((address) => address.toLowerCase()),
        json: fc.jsonValue({ depthSize: "small" }).filter((value) => value !== null)
      }
      fc.assert(
        fc.property(
          arbitraryDefinition.chain((definition) =>
            fc.tuple(
              fc.constant(definition),
              fc.record(
                Object.fromEntries(
                  Object.entries(definition.fields).map(([name, field]) => [name, validValue[field.type]])
                )
              )
            )
          ),
          ([definition, record]) => {
            const result = validateRecord(definition, record, 0)
            assert.deepStrictEqual(result, { _tag: "Valid", record })
          }
        ),
        { numRuns: 1_000 }
      )
    })
  })
})
