/**
 * The object model (SPEC §1.1): an object is a named collection of records with a schema of typed fields, the
 * match keys usable for upserts and an optional event-time `orderBy` field. Holds the two objects the service
 * starts with and the rule for which schema changes are allowed.
 */
import { Schema } from "effect"
import { maxFieldsPerObject } from "./Limits.js"

/** The type of a field and, with it, the values a record may carry in it. */
export const FieldType = Schema.Literal(
  "string",
  "integer",
  "number",
  "boolean",
  "datetime",
  "date",
  "email",
  "json"
).annotations({
  identifier: "FieldType",
  description: "The type of a field",
  message: () => ({
    message: "type must be one of string, integer, number, boolean, datetime, date, email, json",
    override: true
  })
})

/** The type of a field and, with it, the values a record may carry in it. */
export type FieldType = typeof FieldType.Type

/** The field types an `orderBy` field may have: values that order in time or by number. */
export const orderByTypes: ReadonlyArray<FieldType> = ["datetime", "integer", "number"]

/**
 * The rule for field names: a letter, then letters, digits and `_`, at most 63 characters. A leading `_` is
 * reserved for the fields the service adds to stored rows (`_id`, `_createdAt`, `_updatedAt`).
 */
export const fieldNamePattern = /^[A-Za-z][A-Za-z0-9_]{0,62}$/

const fieldNameMessage = (name: unknown): string =>
  `invalid field name ${JSON.stringify(name)}: a field name starts with a letter and holds only letters, digits ` +
  "and _ (at most 63 characters); names starting with _ are reserved"

/** The name of a field of an object schema (see {@link fieldNamePattern}). */
export const FieldName = Schema.String.pipe(
  Schema.pattern(fieldNamePattern, {
    message: (issue) => fieldNameMessage(issue.actual)
  })
).annotations({ identifier: "FieldName", description: "A field name: ^[A-Za-z][A-Za-z0-9_]{0,62}$" })

/** The rule for object names (SPEC §1.1). */
export const objectNamePattern = /^[a-z][a-z0-9_]{0,62}$/

/** The name of an object: `^[a-z][a-z0-9_]{0,62}$`. */
export const ObjectName = Schema.String.pipe(
  Schema.pattern(objectNamePattern, {
    message: (issue) =>
      `invalid object name ${JSON.stringify(issue.actual)}: an object name starts with a lower-case letter and ` +
      "holds only a-z, 0-9 and _ (at most 63 characters)"
  })
).annotations({ identifier: "ObjectName", description: "An object name: ^[a-z][a-z0-9_]{0,62}$" })

/**
 * One field of an object schema: its `type`, whether it is `required` (default `false`) and, for `string` fields
 * only, a `maxLength` in Unicode code points (default 65,535). Unknown properties are rejected so a typo such as
 * `requierd` does not pass silently.
 */
export const FieldDefinition = Schema.Struct({
  type: FieldType,
  required: Schema.optionalWith(Schema.Boolean, { exact: true }),
  maxLength: Schema.optionalWith(
    Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)).annotations({
      message: () => "maxLength must be a whole number of at least 1"
    }),
    { exact: true }
  )
})
  .pipe(
    Schema.filter((field) =>
      field.maxLength === undefined || field.type === "string"
        ? undefined
        : { path: ["maxLength"], message: `maxLength applies to string fields only, not to ${field.type} fields` }
    )
  )
  .annotations({
    identifier: "FieldDefinition",
    description: "A field of an object schema",
    parseOptions: { onExcessProperty: "error" }
  })

/** One field of an object schema. */
export type FieldDefinition = typeof FieldDefinition.Type

/**
 * The fields of an object schema by name. Names are checked here rather than by the record's key schema so that a
 * bad name gets a message saying what is wrong with it.
 */
export const Fields = Schema.Record({ key: Schema.String, value: FieldDefinition })
  .pipe(
    Schema.filter((fields) => {
      const issues: Array<Schema.FilterIssue> = []
      for (const name of Object.keys(fields)) {
        if (!fieldNamePattern.test(name)) {
          issues.push({ path: [name], message: fieldNameMessage(name) })
        }
      }
      return issues
    })
  )
  .annotations({ identifier: "Fields", description: "The fields of an object schema by name" })

/** The parts of an object schema that the cross-field rules look at. */
export interface SchemaParts {
  readonly fields: { readonly [name: string]: FieldDefinition }
  readonly matchKeys: ReadonlyArray<string>
  readonly orderBy?: string | undefined
}

const lookupField = (fields: SchemaParts["fields"], name: string): FieldDefinition | undefined =>
  Object.hasOwn(fields, name) ? fields[name] : undefined

/**
 * Every broken cross-field rule of a schema, with the path of the property at fault: at least one field and at
 * most {@link maxFieldsPerObject}; each match key a declared, non-`json` field listed once; `orderBy` a declared
 * `datetime`, `integer` or `number` field.
 */
export const schemaIssues = (schema: SchemaParts): Array<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  const fieldCount = Object.keys(schema.fields).length
  if (fieldCount === 0) {
    issues.push({ path: ["fields"], message: "an object needs at least one field" })
  } else if (fieldCount > maxFieldsPerObject) {
    issues.push({
      path: ["fields"],
      message: `an object may have at most ${maxFieldsPerObject} fields, this one has ${fieldCount}`
    })
  }
  const seen = new Set<string>()
  schema.matchKeys.forEach((key, i) => {
    const field = lookupField(schema.fields, key)
    if (seen.has(key)) {
      issues.push({ path: ["matchKeys", i], message: `match key "${key}" is listed more than once` })
    } else if (field === undefined) {
      issues.push({ path: ["matchKeys", i], message: `match key "${key}" is not a field of the object` })
    } else if (field.type === "json") {
      issues.push({
        path: ["matchKeys", i],
        message: `match key "${key}" is a json field; a match key must be a field of a scalar type`
      })
    }
    seen.add(key)
  })
  if (schema.orderBy !== undefined) {
    const field = lookupField(schema.fields, schema.orderBy)
    if (field === undefined) {
      issues.push({ path: ["orderBy"], message: `orderBy "${schema.orderBy}" is not a field of the object` })
    } else if (!orderByTypes.includes(field.type)) {
      issues.push({
        path: ["orderBy"],
        message: `orderBy "${schema.orderBy}" is a ${field.type} field; it must be a datetime, integer or number field`
      })
    }
  }
  return issues
}

/**
 * The body of `PUT /public/v1/objects/{name}`: the schema without its name (the name is in the path). `matchKeys`
 * defaults to none. Unknown properties are rejected.
 */
export const ObjectDefinitionInput = Schema.Struct({
  fields: Fields,
  matchKeys: Schema.optionalWith(Schema.Array(FieldName), { default: () => [] }),
  orderBy: Schema.optionalWith(FieldName, { exact: true })
})
  .pipe(Schema.filter(schemaIssues))
  .annotations({
    identifier: "ObjectDefinitionInput",
    description: "An object schema: its fields, match keys and optional orderBy field",
    parseOptions: { onExcessProperty: "error" }
  })

/** The body of `PUT /public/v1/objects/{name}`. */
export type ObjectDefinitionInput = typeof ObjectDefinitionInput.Type

/** An object: its name and schema, as `GET /public/v1/objects/{name}` returns it. */
export const ObjectDefinition = Schema.Struct({
  name: ObjectName,
  fields: Fields,
  matchKeys: Schema.Array(FieldName),
  orderBy: Schema.optionalWith(FieldName, { exact: true })
})
  .pipe(Schema.filter(schemaIssues))
  .annotations({ identifier: "ObjectDefinition", description: "An object: its name and schema" })

/** An object: its name and schema. */
export type ObjectDefinition = typeof ObjectDefinition.Type

/** The object named `name` with the schema of a `PUT` body. */
export const makeObjectDefinition = (name: string, input: ObjectDefinitionInput): ObjectDefinition =>
  input.orderBy === undefined
    ? { name, fields: input.fields, matchKeys: input.matchKeys }
    : { name, fields: input.fields, matchKeys: input.matchKeys, orderBy: input.orderBy }

/** A field whose type a schema change would change. */
export const FieldTypeConflict = Schema.Struct({
  field: Schema.String,
  previousType: FieldType,
  nextType: FieldType
}).annotations({ identifier: "FieldTypeConflict", description: "A field whose type the change would change" })

/** A field whose type a schema change would change. */
export type FieldTypeConflict = typeof FieldTypeConflict.Type

/**
 * The fields present in both schemas whose type differs, in the order of `next`: a non-empty answer makes the
 * change `409 CDP_ETL.OBJECT.CONFLICT`. Adding and removing fields and match keys, and changing `required` or
 * `maxLength`, are allowed (stored rows are kept as they are).
 */
export const schemaChangeConflicts = (
  previous: Pick<SchemaParts, "fields">,
  next: Pick<SchemaParts, "fields">
): ReadonlyArray<FieldTypeConflict> => {
  const conflicts: Array<FieldTypeConflict> = []
  for (const [field, definition] of Object.entries(next.fields)) {
    const before = lookupField(previous.fields, field)
    if (before !== undefined && before.type !== definition.type) {
      conflicts.push({ field, previousType: before.type, nextType: definition.type })
    }
  }
  return conflicts
}

/** The `events` object the service starts with (SPEC §1.1): append-only, no match keys. */
export const eventsObject: ObjectDefinition = {
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
}

/** The `profiles` object the service starts with (SPEC §1.1): upserted by `email` or `external_id`. */
export const profilesObject: ObjectDefinition = {
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
}

/** The objects every workspace starts with: `events` and `profiles`. */
export const defaultObjects: ReadonlyArray<ObjectDefinition> = [eventsObject, profilesObject]
