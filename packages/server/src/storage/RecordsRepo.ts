/**
 * The stored rows of objects (SPEC §1.3, §1.4, §1.9): batch appends and upserts, run inside a job's transaction,
 * and the reads of `GET /records/{object}`.
 *
 * Match keys: every non-null value of a match key is unique within its object. `record_keys` maps each value (as
 * its JSON text, so `1` and `"1"` differ) to the row holding it; upserts find their rows there and both writes
 * check uniqueness there.
 *
 * A batch costs a few statements, not one per row: the rows and key owners the batch can touch are loaded, the
 * records are applied in memory in array order (so a later record merges over an earlier one, even over a row the
 * batch itself inserted), then the new rows, the changed rows and the changed keys are written. On PostgreSQL each
 * of these is ONE statement whatever the batch's size, its rows passed as a few array parameters and expanded with
 * `unnest` (a list of 10,000 rows as 50,000 bind parameters cost more to send, parse and bind than to apply); on
 * SQLite, where a statement's parameters cost nothing to pass, they are chunked multi-row statements.
 */
import { ErrorCode, type ObjectSchema, RecordValidation, type RowError, type StoredRecord } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { Array as Arr, Chunk, Effect, Option, Stream } from "effect"
import * as Cursor from "./Cursor.js"
import { isPostgres, rowsPerStatement } from "./Database.js"
import { isoTime } from "./Timestamps.js"

/** A valid record of a batch and its index in the batch. */
export interface RowInput {
  readonly index: number
  readonly record: RecordValidation.RecordFields
}

/** What became of one record of a batch. */
export type RowOutcome =
  | { readonly _tag: "Inserted" }
  | { readonly _tag: "Updated" }
  | { readonly _tag: "Stale" }
  | { readonly _tag: "Rejected"; readonly error: RowError.RowError }

/**
 * The value a match-key filter written as text (a query parameter) stands for, by the field's type, so that it
 * compares equal to stored values: a number for `integer` and `number` fields (`"42"` → `42`), `true`/`false` for
 * `boolean`, the lower-cased address for `email`, the text itself otherwise. Text that is no value of the field's
 * type (`"4x"` for an integer) is returned as is and matches nothing.
 */
export const filterValue = (definition: ObjectSchema.ObjectDefinition, field: string, text: string): unknown => {
  const type = Object.hasOwn(definition.fields, field) ? definition.fields[field]!.type : undefined
  switch (type) {
    case "integer":
    case "number": {
      const trimmed = text.trim()
      const number = trimmed === "" ? Number.NaN : Number(trimmed)
      return Number.isFinite(number) ? number : text
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : text
    case "email":
      return text.toLowerCase()
    default:
      return text
  }
}

/** A filter of a read: the rows whose match key `field` holds `value` (a value of the field's type). */
export interface RecordFilter {
  readonly field: string
  readonly value: unknown
}

/** Options of {@link RecordsRepo} `list`. */
export interface ListOptions {
  readonly limit: number
  readonly cursor: string | undefined
  readonly filter: Option.Option<RecordFilter>
}

/** Options of {@link RecordsRepo} `stream`. */
export interface StreamOptions {
  readonly filter: Option.Option<RecordFilter>
  /** Rows read per query; default 500. */
  readonly pageSize?: number | undefined
}

/** Match keys added to and removed from an object by a schema change. */
export interface MatchKeyChange {
  readonly added: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

const inserted: RowOutcome = { _tag: "Inserted" }
const updated: RowOutcome = { _tag: "Updated" }
const stale: RowOutcome = { _tag: "Stale" }

/** The text a match-key value is stored and compared as. */
const keyText = (value: unknown): string => JSON.stringify(value)

/** A row a batch works on: loaded from storage (`id` set) or created by the batch (`id` set once inserted). */
interface WorkingRow {
  id: number | undefined
  /** For a row created by the group, the batch (its position in the group) and the index of the record that did. */
  readonly batch: number
  readonly createdBy: number
  data: Record<string, unknown>
  readonly createdAt: number
  changed: boolean
}

/** Who holds a match-key value: a row of the batch, or a stored row the batch did not load (its id). */
type Owner = WorkingRow | number

/** A record rejected because a match-key value it would hold is `holder`'s. */
interface Conflict {
  readonly batch: number
  readonly index: number
  readonly field: string
  /** The value, as its JSON text. */
  readonly text: string
  readonly holder: Owner
}

/** The row error of a conflict, once every row of the group has its id. */
const rejectionOf = (conflict: Conflict): RowOutcome => {
  const { batch, field, holder, index, text } = conflict
  const description =
    typeof holder === "number"
      ? `record ${holder}`
      : holder.batch === batch && holder.createdBy >= 0
        ? `the record of row ${holder.createdBy} of this batch`
        : `record ${holder.id}`
  return {
    _tag: "Rejected",
    error: {
      index,
      code: ErrorCode.RequestInvalid,
      field,
      pointer: `/records/${index}/${RecordValidation.escapePointerToken(field)}`,
      message: `${field} ${text} already belongs to ${description}`
    }
  }
}

interface StoredRow {
  readonly id: number
  readonly data: string
  readonly created_at: number
  readonly updated_at: number
}

const toStoredRecord = (row: StoredRow): StoredRecord.StoredRecord => ({
  ...(JSON.parse(row.data) as Record<string, unknown>),
  _id: String(row.id),
  _createdAt: isoTime(row.created_at),
  _updatedAt: isoTime(row.updated_at)
})

const recordIdPattern = /^[1-9][0-9]{0,15}$/

/** A statement compiled ahead of running it: its SQL text and parameters. */
type CompiledStatement = readonly [sql: string, params: ReadonlyArray<unknown>]

/** Stored rows of objects: batch writes inside a job's transaction, and reads. */
export class RecordsRepo extends Effect.Service<RecordsRepo>()("server/RecordsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const onPostgres = isPostgres(sql)

    // Values per `IN (…)` list on SQLite (PostgreSQL passes them as one array).
    const inChunk = rowsPerStatement(sql, 1, 5_000)

    // Rows per statement that writes stored texts. On PostgreSQL each text is one parameter of a `VALUES` list
    // (passing them as an array costs more: every quote of the JSON escaped, then parsed back).
    const rowsPerText = onPostgres ? 5_000 : rowsPerStatement(sql, 6, 500)

    /** A `VALUES` list of one text per row. */
    const textRows = (texts: ReadonlyArray<string>) => sql.csv(texts.map((text) => sql`(${text})`))

    /**
     * On PostgreSQL, the stored keys of `values` of the match key `field` (`value`, `record_id`, `ctid`), each looked
     * up in the primary key: the values come as one array, and a lateral subquery that stops at one row makes the
     * planner look each up rather than join the array to every key of the field. (Without statistics, a new table or
     * autovacuum off, it took the three equal columns for selective, and a join, `= ANY (…)` or `IN (…)` read every
     * key of the field: 0.8 s for 500 keys among 200,000.)
     */
    const storedKeys = (workspace: string, objectName: string, field: string, values: ReadonlyArray<string>) =>
      sql`unnest(${values}::text[]) AS v(value) CROSS JOIN LATERAL (
        SELECT k.record_id, k.ctid FROM record_keys k
        WHERE k.workspace = ${workspace} AND k.object_name = ${objectName} AND k.field = ${field} AND k.value = v.value
        LIMIT 1) AS k`

    /** The owners of `values` of the match key `field`, as stored. */
    const loadOwners = (workspace: string, objectName: string, field: string, values: ReadonlyArray<string>) =>
      Effect.map(
        onPostgres
          ? Effect.map(
              sql<{ readonly value: string; readonly record_id: number }>`SELECT v.value, k.record_id
                FROM ${storedKeys(workspace, objectName, field, values)}`,
              (rows) => [rows]
            )
          : Effect.forEach(
              Arr.chunksOf(values, inChunk),
              (chunk) =>
                sql<{ readonly value: string; readonly record_id: number }>`SELECT value, record_id FROM record_keys
                  WHERE workspace = ${workspace} AND object_name = ${objectName} AND field = ${field}
                  AND value IN ${sql.in(chunk)}`
            ),
        (chunks) => {
          const owners = new Map<string, number>()
          for (const rows of chunks) for (const row of rows) owners.set(row.value, Number(row.record_id))
          return owners
        }
      )

    const loadRows = (workspace: string, objectName: string, ids: ReadonlyArray<number>) =>
      Effect.map(
        onPostgres
          ? Effect.map(
              sql<Omit<StoredRow, "updated_at">>`SELECT id, data, created_at FROM records
                WHERE id = ANY(${ids}::bigint[]) AND workspace = ${workspace} AND object_name = ${objectName}`,
              (rows) => [rows]
            )
          : Effect.forEach(
              Arr.chunksOf(ids, inChunk),
              (chunk) =>
                sql<Omit<StoredRow, "updated_at">>`SELECT id, data, created_at FROM records
                  WHERE workspace = ${workspace} AND object_name = ${objectName} AND id IN ${sql.in(chunk)}`
            ),
        (chunks) => {
          const rows = new Map<number, WorkingRow>()
          for (const chunk of chunks) {
            for (const row of chunk) {
              const id = Number(row.id)
              const data = JSON.parse(row.data) as Record<string, unknown>
              rows.set(id, { id, batch: -1, createdBy: -1, data, createdAt: Number(row.created_at), changed: false })
            }
          }
          return rows
        }
      )

    /**
     * Inserts new rows whose stored texts are `texts`, in that order, and answers their ids in the same order: ids
     * grow in the order rows are inserted, and RETURNING's own order is not guaranteed, so the ids are sorted.
     */
    const insertTexts = (workspace: string, objectName: string, texts: ReadonlyArray<string>, now: number) =>
      Effect.map(
        Effect.forEach(Arr.chunksOf(texts, rowsPerText), (chunk) =>
          onPostgres
            ? sql<{ readonly id: number }>`INSERT INTO records (workspace, object_name, data, created_at, updated_at)
                SELECT ${workspace}, ${objectName}, t.data, ${now}, ${now} FROM (VALUES ${textRows(chunk)}) AS t(data)
                RETURNING id`
            : sql<{ readonly id: number }>`INSERT INTO records ${sql
                .insert(
                  chunk.map((data) => ({
                    workspace,
                    object_name: objectName,
                    data,
                    created_at: now,
                    updated_at: now
                  }))
                )
                .returning("id")}`
        ),
        (chunks) => chunks.flatMap((returned) => returned.map((row) => Number(row.id)).sort((a, b) => a - b))
      )

    const insertNewRows = (workspace: string, objectName: string, rows: ReadonlyArray<WorkingRow>, now: number) =>
      Effect.map(
        insertTexts(
          workspace,
          objectName,
          rows.map((row) => JSON.stringify(row.data)),
          now
        ),
        (ids) =>
          rows.forEach((row, i) => {
            row.id = ids[i]
          })
      )

    /**
     * The statements inserting `rows` as new rows, compiled ahead: SQL text and parameters. On PostgreSQL one
     * statement of every row (their texts as one array).
     */
    const compileInserts = (
      workspace: string,
      objectName: string,
      rows: ReadonlyArray<RowInput>,
      now: number
    ): ReadonlyArray<CompiledStatement> =>
      Arr.chunksOf(rows, rowsPerText).map((chunk) =>
        onPostgres
          ? sql`INSERT INTO records (workspace, object_name, data, created_at, updated_at)
              SELECT ${workspace}, ${objectName}, t.data, ${now}, ${now}
              FROM (VALUES ${textRows(chunk.map((row) => JSON.stringify(row.record)))}) AS t(data)`.compile()
          : sql`INSERT INTO records ${sql.insert(
              chunk.map((row) => ({
                workspace,
                object_name: objectName,
                data: JSON.stringify(row.record),
                created_at: now,
                updated_at: now
              }))
            )}`.compile()
      )

    const runCompiled = (statements: ReadonlyArray<CompiledStatement>) =>
      Effect.forEach(statements, ([text, params]) => sql.unsafe(text, params), { discard: true })

    /** Writes the new data of changed rows that were loaded (they keep their id and creation time). */
    const updateRows = (workspace: string, objectName: string, rows: ReadonlyArray<WorkingRow>, now: number) =>
      Effect.forEach(
        Arr.chunksOf(rows, rowsPerText),
        (chunk) =>
          onPostgres
            ? sql`UPDATE records AS r SET data = u.data, updated_at = ${now}
                FROM (VALUES ${sql.csv(chunk.map((row) => sql`(${row.id!}::bigint, ${JSON.stringify(row.data)})`))})
                  AS u(id, data)
                WHERE r.id = u.id`
            : sql`INSERT INTO records ${sql.insert(
                chunk.map((row) => ({
                  id: row.id,
                  workspace,
                  object_name: objectName,
                  data: JSON.stringify(row.data),
                  created_at: row.createdAt,
                  updated_at: now
                }))
              )} ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
        { discard: true }
      )

    const deleteKeys = (workspace: string, objectName: string, field: string, values: ReadonlyArray<string>) =>
      onPostgres
        ? sql`DELETE FROM record_keys
            WHERE ctid = ANY(ARRAY(SELECT k.ctid FROM ${storedKeys(workspace, objectName, field, values)}))`.pipe(
            Effect.asVoid
          )
        : Effect.forEach(
            Arr.chunksOf(values, inChunk),
            (chunk) =>
              sql`DELETE FROM record_keys WHERE workspace = ${workspace} AND object_name = ${objectName}
                AND field = ${field} AND value IN ${sql.in(chunk)}`,
            { discard: true }
          )

    /**
     * Points each key at its record: `replace` moves a key another row held; `keep` leaves a held key to its holder
     * (and, of keys listed twice, the first listed holds it).
     */
    const putKeys = (
      workspace: string,
      objectName: string,
      keys: ReadonlyArray<{ readonly field: string; readonly value: string; readonly recordId: number }>,
      onConflict: "replace" | "keep"
    ) => {
      const resolve = onConflict === "replace" ? sql`DO UPDATE SET record_id = excluded.record_id` : sql`DO NOTHING`
      if (onPostgres) {
        return keys.length === 0
          ? Effect.void
          : sql`INSERT INTO record_keys (workspace, object_name, field, value, record_id)
              SELECT ${workspace}, ${objectName}, k.field, k.value, k.record_id
              FROM unnest(${keys.map((key) => key.field)}::text[], ${keys.map((key) => key.value)}::text[],
                ${keys.map((key) => key.recordId)}::bigint[]) WITH ORDINALITY AS k(field, value, record_id, position)
              ORDER BY k.position
              ON CONFLICT (workspace, object_name, field, value) ${resolve}`.pipe(Effect.asVoid)
      }
      return Effect.forEach(
        Arr.chunksOf(keys, rowsPerStatement(sql, 5, 1_000)),
        (chunk) =>
          sql`INSERT INTO record_keys ${sql.insert(
            chunk.map((key) => ({
              workspace,
              object_name: objectName,
              field: key.field,
              value: key.value,
              record_id: key.recordId
            }))
          )} ON CONFLICT (workspace, object_name, field, value) ${resolve}`,
        { discard: true }
      )
    }

    /**
     * Applies the batches of a group one after another, in the order given (each batch a job's valid rows): every
     * record is inserted (`matchKey` undefined) or merged into the row holding its `matchKey` value, exactly as if
     * each batch were applied in a transaction of its own after the one before it. Runs in the caller's transaction.
     */
    const apply = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      matchKey: string | undefined,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: number
    ) =>
      Effect.gen(function* () {
        const objectName = definition.name
        const matchKeys = definition.matchKeys
        const records = batches.flatMap((rows, batch) => rows.map(({ index, record }) => ({ batch, index, record })))

        // Load the rows the batches merge into, then every owner of a key value the batches can write.
        const valuesOf = (field: string, extra: Iterable<Record<string, unknown>> = []) => {
          const values = new Set<string>()
          for (const row of records)
            if (RecordValidation.hasValue(row.record[field])) values.add(keyText(row.record[field]))
          for (const data of extra) if (RecordValidation.hasValue(data[field])) values.add(keyText(data[field]))
          return Array.from(values)
        }
        const initial = new Map<string, Map<string, number>>()
        let loaded = new Map<number, WorkingRow>()
        if (matchKey !== undefined) {
          const owners = yield* loadOwners(workspace, objectName, matchKey, valuesOf(matchKey))
          initial.set(matchKey, owners)
          loaded = yield* loadRows(workspace, objectName, Array.from(new Set(owners.values())))
        }
        const loadedData = Array.from(loaded.values(), (row) => row.data)
        for (const field of matchKeys) {
          if (field !== matchKey) {
            initial.set(field, yield* loadOwners(workspace, objectName, field, valuesOf(field, loadedData)))
          }
        }
        const owners = new Map<string, Map<string, Owner>>()
        for (const [field, stored] of initial) {
          const current = new Map<string, Owner>()
          for (const [value, id] of stored) current.set(value, loaded.get(id) ?? id)
          owners.set(field, current)
        }

        const conflict = (
          row: Pick<Conflict, "batch" | "index">,
          data: Record<string, unknown>,
          self: WorkingRow | undefined
        ): Conflict | undefined => {
          for (const field of matchKeys) {
            const value = data[field]
            if (!RecordValidation.hasValue(value)) continue
            const text = keyText(value)
            const holder = owners.get(field)!.get(text)
            if (holder === undefined || holder === self || (typeof holder === "number" && holder === self?.id)) continue
            return { ...row, field, text, holder }
          }
          return undefined
        }
        const moveKeys = (row: WorkingRow, before: Record<string, unknown>, after: Record<string, unknown>) => {
          for (const field of matchKeys) {
            const was = RecordValidation.hasValue(before[field]) ? keyText(before[field]) : undefined
            const is = RecordValidation.hasValue(after[field]) ? keyText(after[field]) : undefined
            if (was === is) continue
            const current = owners.get(field)!
            if (was !== undefined && current.get(was) === row) current.delete(was)
            if (is !== undefined) current.set(is, row)
          }
        }

        const created: Array<WorkingRow> = []
        const outcomes = batches.map((): Array<RowOutcome | Conflict> => [])
        for (const { batch, index, record } of records) {
          const holder = matchKey === undefined ? undefined : owners.get(matchKey)!.get(keyText(record[matchKey]))
          const target = typeof holder === "number" ? loaded.get(holder) : holder
          if (target === undefined) {
            const data: Record<string, unknown> = {}
            for (const field in record) if (record[field] !== undefined) data[field] = record[field]
            const rejected = conflict({ batch, index }, data, undefined)
            if (rejected !== undefined) {
              outcomes[batch]!.push(rejected)
              continue
            }
            const row: WorkingRow = { id: undefined, batch, createdBy: index, data, createdAt: now, changed: true }
            moveKeys(row, {}, data)
            created.push(row)
            outcomes[batch]!.push(inserted)
            continue
          }
          const incoming = RecordValidation.orderByValue(definition, record)
          const current = RecordValidation.orderByValue(definition, target.data)
          if (incoming !== undefined && current !== undefined && incoming < current) {
            outcomes[batch]!.push(stale)
            continue
          }
          const merged: Record<string, unknown> = { ...target.data }
          for (const field in record) if (record[field] !== undefined) merged[field] = record[field]
          const rejected = conflict({ batch, index }, merged, target)
          if (rejected !== undefined) {
            outcomes[batch]!.push(rejected)
            continue
          }
          moveKeys(target, target.data, merged)
          target.data = merged
          target.changed = true
          outcomes[batch]!.push(updated)
        }

        yield* insertNewRows(workspace, objectName, created, now)
        yield* updateRows(
          workspace,
          objectName,
          Array.from(loaded.values()).filter((row) => row.changed),
          now
        )
        const changedKeys: Array<{ readonly field: string; readonly value: string; readonly recordId: number }> = []
        for (const [field, current] of owners) {
          const stored = initial.get(field)!
          const gone: Array<string> = []
          for (const value of stored.keys()) if (!current.has(value)) gone.push(value)
          if (gone.length > 0) yield* deleteKeys(workspace, objectName, field, gone)
          for (const [value, owner] of current) {
            const recordId = typeof owner === "number" ? owner : owner.id!
            if (stored.get(value) !== recordId) changedKeys.push({ field, value, recordId })
          }
        }
        yield* putKeys(workspace, objectName, changedKeys, "replace")
        // Conflicts are described once every new row has its id, as a later batch of the group names a row that an
        // earlier one created by its id (to that batch it is a stored row).
        return outcomes.map((batch) => batch.map((outcome) => ("holder" in outcome ? rejectionOf(outcome) : outcome)))
      })

    const prepareAppendBatches = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: Date
    ): Effect.Effect<ReadonlyArray<ReadonlyArray<RowOutcome>>> => {
      if (definition.matchKeys.length > 0)
        return Effect.orDie(apply(workspace, definition, undefined, batches, now.getTime()))
      const statements = compileInserts(workspace, definition.name, batches.flat(), now.getTime())
      return Effect.orDie(
        Effect.as(
          runCompiled(statements),
          batches.map((rows) => rows.map(() => inserted))
        )
      )
    }

    const upsertBatches = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      matchKey: string,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: Date
    ): Effect.Effect<ReadonlyArray<ReadonlyArray<RowOutcome>>> =>
      definition.matchKeys.includes(matchKey)
        ? Effect.orDie(apply(workspace, definition, matchKey, batches, now.getTime()))
        : Effect.dieMessage(`upsert by "${matchKey}", which is not a match key of object "${definition.name}"`)

    const page = (
      workspace: string,
      objectName: string,
      filter: Option.Option<RecordFilter>,
      after: number,
      limit: number
    ) =>
      Option.match(filter, {
        onNone: () =>
          sql<StoredRow>`SELECT id, data, created_at, updated_at FROM records
            WHERE workspace = ${workspace} AND object_name = ${objectName} AND id > ${after}
            ORDER BY id LIMIT ${limit}`,
        onSome: ({ field, value }) =>
          sql<StoredRow>`SELECT r.id, r.data, r.created_at, r.updated_at
            FROM record_keys k JOIN records r ON r.id = k.record_id
            WHERE k.workspace = ${workspace} AND k.object_name = ${objectName} AND k.field = ${field}
            AND k.value = ${keyText(value)} AND r.id > ${after}
            ORDER BY r.id LIMIT ${limit}`
      })

    const reindexPage = 1_000

    return {
      /**
       * Inserts one record that carries no match-key value as a new row and returns it as stored: the synchronous
       * append of SPEC §1.9, which touches no other row and so needs no place in the acceptance order.
       */
      insertOne: (
        workspace: string,
        objectName: string,
        record: RecordValidation.RecordFields,
        now: Date
      ): Effect.Effect<StoredRecord.StoredRecord> =>
        Effect.orDie(
          Effect.map(
            sql<StoredRow>`INSERT INTO records ${sql.insert({
              workspace,
              object_name: objectName,
              data: JSON.stringify(record),
              created_at: now.getTime(),
              updated_at: now.getTime()
            })} RETURNING id, data, created_at, updated_at`,
            (rows) => toStoredRecord(rows[0]!)
          )
        ),

      /**
       * Inserts every record as a new row (SPEC §1.3). When the object has match keys, a record whose non-null
       * match-key value is already held (by a stored row or an earlier record of the batch) is rejected.
       * One outcome per input row, in order. Runs in the caller's transaction.
       */
      append: (
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        rows: ReadonlyArray<RowInput>,
        now: Date
      ): Effect.Effect<ReadonlyArray<RowOutcome>> =>
        Effect.suspend(() => Effect.map(prepareAppendBatches(workspace, definition, [rows], now), (all) => all[0]!)),

      /**
       * `append` of several batches (a group's consecutive appends), one after another, with the work that needs no
       * storage done when called: for an object without match keys, every row's stored text and the insert
       * statements (shared by the batches) are built before the returned effect runs, so the transaction that runs
       * it holds the connection only while the statements run. One list of outcomes per batch. Run the effect in the
       * caller's transaction.
       */
      prepareAppendBatches,

      /**
       * Merges every record into the row whose `matchKey` value equals its own, or inserts it (SPEC §1.4): fields
       * present overwrite (an explicit `null` sets null), absent fields keep their value; records apply in array
       * order; with an `orderBy`, a record older than the row is `Stale`; a merge that would give the row another
       * row's match-key value is rejected. One outcome per input row, in order. Runs in the caller's transaction.
       * `matchKey` must be one of the object's match keys (the caller checks).
       */
      upsert: (
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        matchKey: string,
        rows: ReadonlyArray<RowInput>,
        now: Date
      ): Effect.Effect<ReadonlyArray<RowOutcome>> =>
        Effect.map(upsertBatches(workspace, definition, matchKey, [rows], now), (all) => all[0]!),

      /**
       * `upsert` of several batches (a group's consecutive upserts by one match key), one after another, in one pass:
       * the result is the one of upserting each batch in order. One list of outcomes per batch.
       */
      upsertBatches,

      /**
       * A page of an object's rows, oldest first, optionally only the row holding a match-key value. `nextCursor`
       * is `null` on the last page.
       */
      list: (
        workspace: string,
        objectName: string,
        options: ListOptions
      ): Effect.Effect<StoredRecord.RecordsPage, Cursor.InvalidCursor> =>
        Effect.gen(function* () {
          const after = yield* Cursor.decode("records", options.cursor)
          const limit = Math.max(1, Math.floor(options.limit))
          const rows = yield* Effect.orDie(
            page(
              workspace,
              objectName,
              options.filter,
              Option.getOrElse(after, () => 0),
              limit + 1
            )
          )
          const records = rows.slice(0, limit).map(toStoredRecord)
          return {
            records,
            nextCursor: rows.length > limit ? Cursor.encode("records", Number(rows[limit - 1]!.id)) : null
          }
        }),

      /** Every matching row, oldest first, read page by page (constant memory): for NDJSON exports. */
      stream: (
        workspace: string,
        objectName: string,
        options: StreamOptions
      ): Stream.Stream<StoredRecord.StoredRecord> => {
        const pageSize = Math.max(1, options.pageSize ?? 500)
        return Stream.paginateChunkEffect(0, (after) =>
          Effect.map(Effect.orDie(page(workspace, objectName, options.filter, after, pageSize)), (rows) => [
            Chunk.fromIterable(rows.map(toStoredRecord)),
            rows.length === pageSize ? Option.some(Number(rows[rows.length - 1]!.id)) : Option.none()
          ])
        )
      },

      /** One row by its `_id`; `None` when the id is not a row of this object in this workspace. */
      get: (
        workspace: string,
        objectName: string,
        id: string
      ): Effect.Effect<Option.Option<StoredRecord.StoredRecord>> =>
        recordIdPattern.test(id)
          ? Effect.orDie(
              Effect.map(
                sql<StoredRow>`SELECT id, data, created_at, updated_at FROM records
                  WHERE id = ${Number(id)} AND workspace = ${workspace} AND object_name = ${objectName}`,
                (rows) => Option.map(Arr.head(rows), toStoredRecord)
              )
            )
          : Effect.succeed(Option.none()),

      /**
       * Brings `record_keys` in line with a schema change: forgets the values of removed match keys and indexes the
       * stored values of added ones. Where stored rows share a value of an added key, the oldest row holds it (the
       * others cannot be found by that key). Runs in the caller's transaction.
       */
      reindexMatchKeys: (workspace: string, objectName: string, change: MatchKeyChange): Effect.Effect<void> =>
        Effect.orDie(
          Effect.gen(function* () {
            if (change.removed.length > 0) {
              yield* sql`DELETE FROM record_keys WHERE workspace = ${workspace} AND object_name = ${objectName}
                AND field IN ${sql.in(change.removed)}`
            }
            if (change.added.length === 0) return
            let after = 0
            while (true) {
              const rows = yield* sql<Pick<StoredRow, "id" | "data">>`SELECT id, data FROM records
                WHERE workspace = ${workspace} AND object_name = ${objectName} AND id > ${after}
                ORDER BY id LIMIT ${reindexPage}`
              const keys: Array<{ readonly field: string; readonly value: string; readonly recordId: number }> = []
              for (const row of rows) {
                const data = JSON.parse(row.data) as Record<string, unknown>
                for (const field of change.added) {
                  if (RecordValidation.hasValue(data[field]))
                    keys.push({ field, value: keyText(data[field]), recordId: Number(row.id) })
                }
              }
              yield* putKeys(workspace, objectName, keys, "keep")
              if (rows.length < reindexPage) return
              after = Number(rows[rows.length - 1]!.id)
            }
          })
        )
    } as const
  })
}) {}
