/**
 * Validation of records against an object schema (SPEC §1.1, §1.4, §1.5). It runs for every row of every batch,
 * so it is hand-written and compiled once per object definition rather than a Schema decode per row. It never
 * throws: whatever the input, the answer is a {@link ValidationResult} listing every problem of the row.
 *
 * Rules where the SPEC is silent:
 * - `string` `maxLength` counts Unicode code points (a surrogate pair is one character).
 * - `datetime` is RFC 3339 `date-time` with a zone (`Z`, `z` or `±hh:mm`, `-00:00` included); the date and time may
 *   be separated by `T`, `t` or one space (RFC 3339 §5.6 note); any number of fraction digits; second `60` (a leap
 *   second) is accepted only when the time, moved to UTC, is 23:59 (the last minute of a day), as RFC 3339 allows.
 *   Years 0000–9999, proleptic Gregorian calendar.
 * - `email`: at most 254 UTF-16 code units, exactly one `@`; before it an RFC 5322 dot-atom (letters, digits,
 *   ``!#$%&'*+-/=?^_`{|}~``, non-ASCII letters, and dots not at either end nor doubled); after it a host name of one
 *   or more dot-separated labels of letters, digits, `-` or non-ASCII letters (1–63 each, no `-` at either end);
 *   no whitespace anywhere. The stored value is lower-cased.
 * - `json` depth: a scalar has depth 0, an array or object one more than its deepest member (so `[]` and `{}` have
 *   depth 1); at most 32. The walk stops at depth 33, so a value nested 100,000 deep costs 33 steps.
 * - A property whose value is `undefined` (not JSON; only possible from JavaScript callers) counts as absent.
 * - A number that a 64-bit float cannot hold exactly, kept as a `JsonNumber` by `ExactJson.parse` (more than about
 *   17 significant digits, or beyond ±1.8e308), is refused in every field type, nested `json` values included:
 *   stored, it would silently become another number.
 */
import { Schema } from "effect"
import { RequestInvalid, RequestSchema } from "./ErrorCode.js"
import { defaultStringMaxLength, maxEmailLength, maxJsonDepth, maxMatchKeyLength } from "./Limits.js"
import { isJsonNumber, type JsonNumber } from "./Json.js"
import type { ObjectDefinition } from "./ObjectSchema.js"
import type { RowError } from "./RowError.js"

/** The fields of a record by name. */
export type RecordFields = { readonly [field: string]: unknown }

/** A record that passed validation, normalized (emails lower-cased; every other value as sent). */
export interface ValidRecord {
  readonly _tag: "Valid"
  readonly record: RecordFields
}

/** A record that failed validation, with every problem found in it. */
export interface InvalidRecord {
  readonly _tag: "Invalid"
  readonly errors: ReadonlyArray<RowError>
}

/** The outcome of validating one record. */
export type ValidationResult = ValidRecord | InvalidRecord

/** Options of {@link compileValidator} and {@link validateRecord}. */
export interface ValidateOptions {
  /** For upserts: the match key every record must carry a value for. */
  readonly matchKey?: string | undefined
  /**
   * The JSON pointer of the record in the request body; default `/records/<index>`. Use `""` for a body that is
   * the record itself and `/record` for `{"record": …}`.
   */
  readonly basePointer?: string | undefined
}

/** A validator compiled for one object definition: validates the record at `index` of a batch. */
export type RecordValidator = (record: unknown, index: number) => ValidationResult

/** Whether a field has a value: present and not `null`. */
export const hasValue = (value: unknown): boolean => value !== undefined && value !== null

/** A field name on no schema, with the index of the first record that carries it. */
export const UnknownField = Schema.Struct({
  field: Schema.String,
  firstIndex: Schema.NonNegativeInt
}).annotations({
  identifier: "UnknownField",
  description: "A field not on the object schema, and where it first appears"
})

/** A field name on no schema, with the index of the first record that carries it. */
export type UnknownField = typeof UnknownField.Type

const KIND_STRING = 0
const KIND_INTEGER = 1
const KIND_NUMBER = 2
const KIND_BOOLEAN = 3
const KIND_DATETIME = 4
const KIND_DATE = 5
const KIND_EMAIL = 6
const KIND_JSON = 7

const kinds = {
  string: KIND_STRING,
  integer: KIND_INTEGER,
  number: KIND_NUMBER,
  boolean: KIND_BOOLEAN,
  datetime: KIND_DATETIME,
  date: KIND_DATE,
  email: KIND_EMAIL,
  json: KIND_JSON
} as const

interface CompiledField {
  readonly name: string
  readonly kind: number
  readonly maxLength: number
  /** Why `maxLength` is what it is, when the field's own limit is not the reason (a match key). */
  readonly maxLengthNote: string
  /** The message when the field must have a value and has none (required or the match key), else `undefined`. */
  readonly missingMessage: string | undefined
  readonly nullMessage: string | undefined
}

interface Compiled {
  readonly objectName: string
  readonly fields: Map<string, CompiledField>
  readonly mustHave: ReadonlyArray<CompiledField>
  /** Set when the match key is not a field of the object: every record gets this error. */
  readonly matchKeyError: string | undefined
  readonly matchKey: string | undefined
  readonly basePointer: string | undefined
}

/** Escapes one reference token of a JSON pointer (RFC 6901): `~` becomes `~0` and `/` becomes `~1`. */
export const escapePointerToken = (token: string): string =>
  token.indexOf("~") === -1 && token.indexOf("/") === -1 ? token : token.replace(/~/g, "~0").replace(/\//g, "~1")

const abbreviateLimit = 64

const abbreviate = (s: string): string => (s.length > abbreviateLimit ? `${s.slice(0, abbreviateLimit - 1)}…` : s)

/** A string as it appears inside a message: abbreviated, JSON escapes, no quotes. */
const raw = (s: string): string => JSON.stringify(abbreviate(s)).slice(1, -1)

/** Any JavaScript value as it appears in a message. */
const show = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(abbreviate(value))
    case "number":
    case "boolean":
      return String(value)
    case "bigint":
      return `${value}n`
    case "undefined":
      return "undefined"
    case "object":
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object"
    default:
      return `a ${typeof value}`
  }
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57

/** Two decimal digits at `i` as a number, or a negative number when they are not digits. */
const twoDigits = (s: string, i: number): number => {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31

const DATE_OK = 0
const DATE_SYNTAX = 1
const DATE_IMPOSSIBLE = 2

/** Checks `YYYY-MM-DD` at the start of `s` (the caller checks what follows). */
const scanDate = (s: string): number => {
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return DATE_SYNTAX
  const hi = twoDigits(s, 0)
  const lo = twoDigits(s, 2)
  const month = twoDigits(s, 5)
  const day = twoDigits(s, 8)
  if (hi < 0 || lo < 0 || month < 0 || day < 0) return DATE_SYNTAX
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(hi * 100 + lo, month) ? DATE_OK : DATE_IMPOSSIBLE
}

const DATETIME_OK = 0
const DATETIME_SYNTAX = 1
const DATETIME_NO_ZONE = 2
const DATETIME_IMPOSSIBLE_DATE = 3
const DATETIME_TIME_RANGE = 4

/** Checks an RFC 3339 date-time with a zone; answers one of the `DATETIME_*` codes. */
const scanDatetime = (s: string): number => {
  const n = s.length
  if (n < 19) return DATETIME_SYNTAX
  const date = scanDate(s)
  if (date === DATE_SYNTAX) return DATETIME_SYNTAX
  const sep = s.charCodeAt(10)
  if (sep !== 84 && sep !== 116 && sep !== 32) return DATETIME_SYNTAX
  const hour = twoDigits(s, 11)
  const minute = twoDigits(s, 14)
  const second = twoDigits(s, 17)
  if (hour < 0 || minute < 0 || second < 0 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) {
    return DATETIME_SYNTAX
  }
  let i = 19
  if (i < n && s.charCodeAt(i) === 46) {
    i++
    const start = i
    while (i < n && isDigitCode(s.charCodeAt(i))) i++
    if (i === start) return DATETIME_SYNTAX
  }
  if (i === n) return DATETIME_NO_ZONE
  let offsetMinutes = 0
  const z = s.charCodeAt(i)
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return DATETIME_SYNTAX
  } else if (z === 43 || z === 45) {
    if (i + 6 !== n || s.charCodeAt(i + 3) !== 58) return DATETIME_SYNTAX
    const offsetHour = twoDigits(s, i + 1)
    const offsetMinute = twoDigits(s, i + 4)
    if (offsetHour < 0 || offsetMinute < 0) return DATETIME_SYNTAX
    if (offsetHour > 23 || offsetMinute > 59) return DATETIME_TIME_RANGE
    offsetMinutes = (z === 43 ? 1 : -1) * (offsetHour * 60 + offsetMinute)
  } else {
    return DATETIME_SYNTAX
  }
  if (date === DATE_IMPOSSIBLE) return DATETIME_IMPOSSIBLE_DATE
  if (hour > 23 || minute > 59 || second > 60) return DATETIME_TIME_RANGE
  if (second === 60) {
    const utcMinuteOfDay = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440
    if (utcMinuteOfDay !== 1439) return DATETIME_TIME_RANGE
  }
  return DATETIME_OK
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1–12). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

/**
 * The instant of a valid `datetime` value in milliseconds since 1970-01-01T00:00:00Z, or `undefined` when the value
 * is not one. Whole milliseconds are exact; digits below the millisecond are kept as the fraction of the number, as
 * exact as a double allows (about a quarter of a microsecond for present-day instants). A leap second
 * (`23:59:60Z`) is the same instant as the next `00:00:00Z`, as in POSIX time.
 */
export const datetimeEpochMillis = (value: string): number | undefined => {
  if (scanDatetime(value) !== DATETIME_OK) return undefined
  const year = twoDigits(value, 0) * 100 + twoDigits(value, 2)
  const days = daysFromCivil(year, twoDigits(value, 5), twoDigits(value, 8))
  const seconds = twoDigits(value, 11) * 3600 + twoDigits(value, 14) * 60 + twoDigits(value, 17)
  let i = 19
  let millis = 0
  let subMillis = 0
  if (value.charCodeAt(i) === 46) {
    const start = ++i
    while (isDigitCode(value.charCodeAt(i))) i++
    const digits = value.slice(start, i)
    millis = Number(digits.slice(0, 3).padEnd(3, "0"))
    subMillis = digits.length > 3 ? Number(`0.${digits.slice(3)}`) : 0
  }
  let offsetMinutes = 0
  const z = value.charCodeAt(i)
  if (z === 43 || z === 45) {
    offsetMinutes = (z === 43 ? 1 : -1) * (twoDigits(value, i + 1) * 60 + twoDigits(value, i + 4))
  }
  return (days * 86_400 + seconds - offsetMinutes * 60) * 1000 + millis + subMillis
}

const datetimeProblem = (value: unknown): string | undefined => {
  if (typeof value !== "string") return `expected an RFC 3339 date-time string, got ${show(value)}`
  switch (scanDatetime(value)) {
    case DATETIME_OK:
      return undefined
    case DATETIME_NO_ZONE:
      return `datetime needs a zone: ${raw(value)}`
    case DATETIME_IMPOSSIBLE_DATE:
      return `not a real calendar date: ${raw(value)}`
    case DATETIME_TIME_RANGE:
      return `time out of range: ${raw(value)}`
    default:
      return `not an RFC 3339 date-time like 2026-04-21T15:00:00Z: ${raw(value)}`
  }
}

const dateProblem = (value: unknown): string | undefined => {
  if (typeof value !== "string") return `expected a date string YYYY-MM-DD, got ${show(value)}`
  if (value.length !== 10) return `not a date YYYY-MM-DD: ${raw(value)}`
  switch (scanDate(value)) {
    case DATE_OK:
      return undefined
    case DATE_IMPOSSIBLE:
      return `not a real calendar date: ${raw(value)}`
    default:
      return `not a date YYYY-MM-DD: ${raw(value)}`
  }
}

/** ASCII characters allowed in the local part of an address (RFC 5322 atext, plus the dot). */
const localChars = new Uint8Array(128)
/** ASCII characters allowed in the host of an address (letters, digits, `-`, `.`). */
const hostChars = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
  localChars[c] = alnum || "!#$%&'*+-/=?^_`{|}~.".includes(String.fromCharCode(c)) ? 1 : 0
  hostChars[c] = alnum || c === 45 || c === 46 ? 1 : 0
}

const unicodeSpace = /[\s\u200B\u2060\uFEFF]/

const emailProblem = (value: unknown): string | undefined => {
  if (typeof value !== "string") return `expected an email address string, got ${show(value)}`
  const n = value.length
  if (n > maxEmailLength) return `email address longer than ${maxEmailLength} characters (${n})`
  let at = -1
  let nonAscii = false
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i)
    if (c === 64) {
      if (at !== -1) return `email address has more than one @: ${raw(value)}`
      at = i
    } else if (c <= 32 || c === 127) {
      return `email address contains a space or control character: ${raw(value)}`
    } else if (c >= 128) {
      nonAscii = true
    }
  }
  if (nonAscii && unicodeSpace.test(value)) return `email address contains a space: ${raw(value)}`
  if (at === -1) return `email address needs an @: ${raw(value)}`
  if (at === 0) return `email address has nothing before the @: ${raw(value)}`
  if (at === n - 1) return `email address has nothing after the @: ${raw(value)}`
  let previous = 46
  for (let i = 0; i < at; i++) {
    const c = value.charCodeAt(i)
    if ((c < 128 && localChars[c] === 0) || (c === 46 && previous === 46)) {
      return `not a plausible email address (before the @): ${raw(value)}`
    }
    previous = c
  }
  if (previous === 46) return `not a plausible email address (before the @): ${raw(value)}`
  let labelStart = at + 1
  for (let i = at + 1; i <= n; i++) {
    const c = i === n ? 46 : value.charCodeAt(i)
    if (c === 46) {
      const length = i - labelStart
      if (length === 0 || length > 63 || value.charCodeAt(labelStart) === 45 || value.charCodeAt(i - 1) === 45) {
        return `not a plausible email address (after the @): ${raw(value)}`
      }
      labelStart = i + 1
    } else if (c < 128 && hostChars[c] === 0) {
      return `not a plausible email address (after the @): ${raw(value)}`
    }
  }
  return undefined
}

const JSON_OK = 0
const JSON_TOO_DEEP = 1
const JSON_NOT_JSON = 2
const JSON_INEXACT = 3

/**
 * Walks a value checking it is JSON no deeper than {@link maxJsonDepth}. `enclosing` is the number of arrays and
 * objects around `value`; the recursion therefore never goes more than `maxJsonDepth + 1` frames deep.
 */
const jsonCheck = (value: unknown, enclosing: number): number => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON_OK
    case "number":
      return Number.isFinite(value) ? JSON_OK : JSON_NOT_JSON
    case "object": {
      if (value === null) return JSON_OK
      if (isJsonNumber(value)) return JSON_INEXACT
      if (enclosing >= maxJsonDepth) return JSON_TOO_DEEP
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const result = jsonCheck(value[i], enclosing + 1)
          if (result !== JSON_OK) return result
        }
        return JSON_OK
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return JSON_NOT_JSON
      const object = value as Record<string, unknown>
      for (const key in object) {
        if (!Object.hasOwn(object, key)) continue
        const result = jsonCheck(object[key], enclosing + 1)
        if (result !== JSON_OK) return result
      }
      return JSON_OK
    }
    default:
      return JSON_NOT_JSON
  }
}

const jsonProblem = (value: unknown): string | undefined => {
  switch (jsonCheck(value, 0)) {
    case JSON_OK:
      return undefined
    case JSON_TOO_DEEP:
      return `JSON value nested deeper than ${maxJsonDepth} levels`
    case JSON_INEXACT:
      return "the JSON value holds a number that cannot be stored exactly (more digits than a 64-bit float keeps, or beyond its range); send it as a string"
    default:
      return `not a JSON value: ${show(value)} holds something JSON cannot represent`
  }
}

const codePointLength = (s: string): number => {
  let count = 0
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    count++
  }
  return count
}

/** The problem of a number `ExactJson.parse` kept as written, because a 64-bit float cannot hold it. */
const inexactNumberProblem = (number: JsonNumber): string =>
  `the number ${abbreviate(number.text)} cannot be stored exactly (a 64-bit float keeps ${String(number.value)}); send it as a string`

/** The problem of a non-null value in a field, or `undefined` when the value is fine. */
const valueProblem = (field: CompiledField, value: unknown): string | undefined => {
  if (field.kind !== KIND_JSON && typeof value === "object" && isJsonNumber(value)) return inexactNumberProblem(value)
  switch (field.kind) {
    case KIND_STRING: {
      if (typeof value !== "string") return `expected a string, got ${show(value)}`
      if (value.length <= field.maxLength) return undefined
      const length = codePointLength(value)
      return length > field.maxLength
        ? `string longer than ${field.maxLength} characters (${length})${field.maxLengthNote}`
        : undefined
    }
    case KIND_INTEGER:
      if (typeof value !== "number" || !Number.isInteger(value)) return `expected an integer, got ${show(value)}`
      return Number.isSafeInteger(value)
        ? undefined
        : `integer out of the safe range ±${Number.MAX_SAFE_INTEGER}: ${show(value)}`
    case KIND_NUMBER:
      if (typeof value !== "number") return `expected a number, got ${show(value)}`
      return Number.isFinite(value) ? undefined : `expected a finite number, got ${show(value)}`
    case KIND_BOOLEAN:
      return typeof value === "boolean" ? undefined : `expected true or false, got ${show(value)}`
    case KIND_DATETIME:
      return datetimeProblem(value)
    case KIND_DATE:
      return dateProblem(value)
    case KIND_EMAIL:
      return emailProblem(value)
    default:
      return jsonProblem(value)
  }
}

const compile = (definition: ObjectDefinition, options: ValidateOptions | undefined): Compiled => {
  const matchKey = options?.matchKey
  const fields = new Map<string, CompiledField>()
  const mustHave: Array<CompiledField> = []
  for (const name of Object.keys(definition.fields)) {
    const field = definition.fields[name]!
    const isMatchKey = name === matchKey
    const ownMaxLength =
      field.type === "string" ? (field.maxLength ?? defaultStringMaxLength) : Number.POSITIVE_INFINITY
    const indexedMax = definition.matchKeys.includes(name) && ownMaxLength > maxMatchKeyLength
    const compiled: CompiledField = {
      name,
      kind: kinds[field.type] ?? KIND_JSON,
      maxLength: indexedMax ? maxMatchKeyLength : ownMaxLength,
      maxLengthNote: indexedMax
        ? `; values of a match key are indexed and hold at most ${maxMatchKeyLength} characters`
        : "",
      missingMessage: isMatchKey
        ? `no value for the match key "${name}"`
        : field.required === true
          ? `required field "${name}" is missing`
          : undefined,
      nullMessage: isMatchKey
        ? `no value for the match key "${name}": it is null`
        : field.required === true
          ? `required field "${name}" is null`
          : undefined
    }
    fields.set(name, compiled)
    if (compiled.missingMessage !== undefined) mustHave.push(compiled)
  }
  return {
    objectName: definition.name,
    fields,
    mustHave,
    matchKeyError:
      matchKey !== undefined && !fields.has(matchKey)
        ? `match key "${matchKey}" is not a field of object "${definition.name}"`
        : undefined,
    matchKey,
    basePointer: options?.basePointer
  }
}

const compiledCache = new WeakMap<ObjectDefinition, Map<string, Compiled>>()

const compiledFor = (definition: ObjectDefinition, options: ValidateOptions | undefined): Compiled => {
  let byOptions = compiledCache.get(definition)
  if (byOptions === undefined) {
    byOptions = new Map()
    compiledCache.set(definition, byOptions)
  }
  const key = options === undefined ? "" : `${options.matchKey ?? ""}\u0000${options.basePointer ?? "\u0001"}`
  let compiled = byOptions.get(key)
  if (compiled === undefined) {
    compiled = compile(definition, options)
    byOptions.set(key, compiled)
  }
  return compiled
}

const rowError = (
  compiled: Compiled,
  index: number,
  code: RowError["code"],
  field: string | null,
  message: string
): RowError => {
  const base = compiled.basePointer ?? `/records/${index}`
  return { index, code, field, pointer: field === null ? base : `${base}/${escapePointerToken(field)}`, message }
}

const append = (errors: Array<RowError> | undefined, error: RowError): Array<RowError> => {
  if (errors === undefined) return [error]
  errors.push(error)
  return errors
}

const notAnObject = (compiled: Compiled, index: number, record: unknown): InvalidRecord => ({
  _tag: "Invalid",
  errors: [rowError(compiled, index, RequestInvalid, null, `record must be a JSON object, got ${show(record)}`)]
})

const run = (compiled: Compiled, input: unknown, index: number): ValidationResult => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return notAnObject(compiled, index, input)
  const proto = Object.getPrototypeOf(input)
  if (proto !== Object.prototype && proto !== null) return notAnObject(compiled, index, input)
  const record = input as Record<string, unknown>
  let errors: Array<RowError> | undefined
  let normalized: Record<string, unknown> | undefined
  if (compiled.matchKeyError !== undefined) {
    errors = [rowError(compiled, index, RequestSchema, compiled.matchKey!, compiled.matchKeyError)]
  }
  for (const key in record) {
    const field = compiled.fields.get(key)
    if (field === undefined) {
      if (Object.hasOwn(record, key) && record[key] !== undefined) {
        const message = `field ${show(key)} is not on the schema of object "${compiled.objectName}"`
        errors = append(errors, rowError(compiled, index, RequestSchema, key, message))
      }
      continue
    }
    const value = record[key]
    if (value === undefined) continue
    if (value === null) {
      if (field.nullMessage !== undefined) {
        errors = append(errors, rowError(compiled, index, RequestInvalid, key, field.nullMessage))
      }
      continue
    }
    const problem = valueProblem(field, value)
    if (problem !== undefined) {
      errors = append(errors, rowError(compiled, index, RequestInvalid, key, problem))
    } else if (field.kind === KIND_EMAIL && errors === undefined) {
      const lower = (value as string).toLowerCase()
      if (lower !== value) {
        normalized ??= { ...record }
        normalized[key] = lower
      }
    }
  }
  for (const field of compiled.mustHave) {
    if (!Object.hasOwn(record, field.name) || record[field.name] === undefined) {
      errors = append(errors, rowError(compiled, index, RequestInvalid, field.name, field.missingMessage!))
    }
  }
  return errors === undefined ? { _tag: "Valid", record: normalized ?? record } : { _tag: "Invalid", errors }
}

const safeRun = (compiled: Compiled, record: unknown, index: number): ValidationResult => {
  try {
    return run(compiled, record, index)
  } catch {
    // Only a value that is not JSON can get here (a throwing getter, a revoked proxy).
    return {
      _tag: "Invalid",
      errors: [rowError(compiled, index, RequestInvalid, null, "record could not be read as a JSON object")]
    }
  }
}

/**
 * Compiles a validator for one object definition (and, for upserts, one match key). Compile once per batch and
 * call it for every record; definitions are treated as immutable.
 */
export const compileValidator = (definition: ObjectDefinition, options?: ValidateOptions): RecordValidator => {
  const compiled = compiledFor(definition, options)
  return (record, index) => safeRun(compiled, record, index)
}

/**
 * Validates the record at `index` of a batch against an object definition, reporting every problem of the row:
 * a field not on the schema (`CDP_ETL.VALIDATION.REQUEST_SCHEMA`), a value its field type rejects, a required
 * field or the match key without a value, or a record that is not a JSON object
 * (`CDP_ETL.VALIDATION.REQUEST_INVALID`). Never throws. Compiled validators are cached per definition object.
 */
export const validateRecord = (
  definition: ObjectDefinition,
  record: unknown,
  index: number,
  options?: ValidateOptions
): ValidationResult => safeRun(compiledFor(definition, options), record, index)

/**
 * The field names carried by any of `records` that are not on the object's schema, each with the index of the
 * first record carrying it, in order of first appearance (the 400 `CDP_ETL.VALIDATION.REQUEST_SCHEMA` check of a
 * whole batch). Records that are not objects are skipped: they are rejected on their own.
 */
export const findUnknownFields = (
  definition: ObjectDefinition,
  records: Iterable<unknown>
): ReadonlyArray<UnknownField> => {
  const known = compiledFor(definition, undefined).fields
  let unknown: Map<string, number> | undefined
  let index = 0
  for (const record of records) {
    if (typeof record === "object" && record !== null && !Array.isArray(record)) {
      const object = record as Record<string, unknown>
      for (const key in object) {
        if (!known.has(key) && !unknown?.has(key) && Object.hasOwn(object, key) && object[key] !== undefined) {
          unknown ??= new Map()
          unknown.set(key, index)
        }
      }
    }
    index++
  }
  return unknown === undefined ? [] : Array.from(unknown, ([field, firstIndex]) => ({ field, firstIndex }))
}

/**
 * The record's `orderBy` value as a number that orders like the value: a `datetime` as its instant
 * ({@link datetimeEpochMillis}, so different offsets compare by instant), an `integer` or `number` as itself.
 * `undefined` when the object has no `orderBy`, or the record has no valid value for it.
 */
export const orderByValue = (definition: ObjectDefinition, record: unknown): number | undefined => {
  const orderBy = definition.orderBy
  if (orderBy === undefined || typeof record !== "object" || record === null || !Object.hasOwn(record, orderBy)) {
    return undefined
  }
  const field = Object.hasOwn(definition.fields, orderBy) ? definition.fields[orderBy] : undefined
  const value = (record as Record<string, unknown>)[orderBy]
  if (field === undefined) return undefined
  if (field.type === "datetime") return typeof value === "string" ? datetimeEpochMillis(value) : undefined
  if (field.type === "integer" || field.type === "number") {
    return typeof value === "number" && Number.isFinite(value) ? value : undefined
  }
  return undefined
}
