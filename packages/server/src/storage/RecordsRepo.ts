/**
 * The stored rows of objects (SPEC §1.3, §1.4, §1.9): batch appends and upserts, run inside a job's transaction,
 * and the reads of `GET /records/{object}`. Each object has a table of its own (`RecordTables`), with a column and a
 * unique index per match key.
 *
 * A batch costs a few statements, not one per row: the rows the batch merges into are loaded by their match-key
 * values (one statement), with the holders of the other match-key values it can write (one per other match key);
 * the records are applied in memory in array order (so a later record merges over an earlier one, even over a row
 * the batch itself inserted), then the changed rows and the new rows are written, each with the key values it holds.
 * On PostgreSQL each of these is ONE statement whatever the batch's size (up to 5,000 rows per write), its values
 * passed as a `VALUES` list or one array; on SQLite, where a statement's parameters cost nothing to pass, they are
 * chunked multi-row statements. An append to an object without match keys is only the inserts, compiled before
 * its transaction begins.
 */
import { ErrorCode, type ObjectSchema, RecordValidation, type RowError, type StoredRecord } from "@batchwrite/core"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Array as Arr, Chunk, Effect, Option, Stream } from "effect"
import * as Cursor from "./Cursor.js"
import { nextTurn } from "../EventLoop.js"
import { type CompiledStatement, executeInTransaction, genericPlans, isPostgres, rowsPerStatement } from "./Database.js"
import * as RecordTables from "./RecordTables.js"
import { keyText } from "./RecordTables.js"
import { isoTime } from "./Timestamps.js"

/**
 * Records merged between two turns of the event loop: a group of 10,000 merging upserts took up to 56 ms of the
 * HTTP thread in one piece (29 ms on average), every acceptance on the node waiting meanwhile.
 */
const mergeSlice = 1_000

/**
 * From how many rows a write on PostgreSQL is planned generically ({@link genericPlans}): planning a statement with its
 * values took about 5 µs a row, a round trip to say so takes about 0.1 ms.
 */
const genericPlanRows = 100

/** What a write of `rows` rows runs before its statements: {@link genericPlans} on PostgreSQL from 100 rows, else nothing. */
const planningFor = (onPostgres: boolean, rows: number): ReadonlyArray<CompiledStatement> =>
  onPostgres && rows >= genericPlanRows ? [genericPlans] : []

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

const inserted: RowOutcome = { _tag: "Inserted" }
const updated: RowOutcome = { _tag: "Updated" }
const stale: RowOutcome = { _tag: "Stale" }

/** A row a batch works on: loaded from storage (`id` set) or created by the batch (`id` set once inserted). */
interface WorkingRow {
  id: number | undefined
  /** For a row created by the group, the batch (its position in the group) and the index of the record that did. */
  readonly batch: number
  readonly createdBy: number
  data: Record<string, unknown>
  /** The key texts of `data`'s match-key values ({@link keyTexts}), kept as `data` changes. */
  keys: KeyTexts
  readonly createdAt: number
  changed: boolean
  /** For a loaded row, its key columns as stored, in the order of the object's match keys. */
  readonly storedKeys: ReadonlyArray<string | null>
}

/**
 * The JSON texts of a record's or a row's match-key values, in the order of the object's match keys: `undefined`
 * where it holds no value. A batch's merge compares and moves these texts many times per record; each is made once.
 */
type KeyTexts = ReadonlyArray<string | undefined>

/** The {@link KeyTexts} of `data`. */
const keyTexts = (matchKeys: ReadonlyArray<string>, data: Record<string, unknown>): KeyTexts =>
  matchKeys.map((field) => (RecordValidation.hasValue(data[field]) ? keyText(data[field]) : undefined))

/**
 * Merges a record into `data`, in place, and answers it: each field the record holds replaces `data`'s; a field it
 * leaves out (`undefined`) keeps `data`'s value (SPEC §1.4).
 */
const mergeRecord = (data: Record<string, unknown>, record: RecordValidation.RecordFields): Record<string, unknown> => {
  for (const field in record) if (record[field] !== undefined) data[field] = record[field]
  return data
}

/** A row to insert: its data as JSON text, and its key columns' texts in the order of the object's match keys. */
interface NewRow {
  readonly data: string
  readonly keys: ReadonlyArray<string | null>
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

/** Stored rows of objects: batch writes inside a job's transaction, and reads. */
export class RecordsRepo extends Effect.Service<RecordsRepo>()("server/RecordsRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const onPostgres = isPostgres(sql)
    const tables = yield* RecordTables.makeTableKeeper

    // Values per `IN (…)` list on SQLite (PostgreSQL passes them as one array).
    const inChunk = rowsPerStatement(sql, 1, 5_000)

    /**
     * Rows per statement that writes rows with `keys` match keys (id, data, two times, a column per key). On
     * PostgreSQL each value is one parameter of a `VALUES` list (passing the JSON texts as an array costs more: every
     * quote escaped, then parsed back).
     */
    const rowsPerWrite = (keys: number) => rowsPerStatement(sql, 4 + keys, onPostgres ? 5_000 : 500)

    /**
     * `WHERE`'s test that `column` holds one of `values` (one array of `type` on PostgreSQL, a list on SQLite): key
     * values (`text`) or row ids (`bigint`), found by the column's index. On PostgreSQL the array is a subquery's,
     * which the planner does not look into: given the values themselves, it estimated each one's share of the table
     * and, once they were a few percent of it, planned a sequential scan of the whole table (300,000 rows: 134 ms
     * for 10,000 key values, 141 ms for 5,000 held by no row, 12–15 ms of it planning; by the index 28 ms and 6 ms).
     */
    const holdsOneOf = (column: string, values: ReadonlyArray<string | number>, type: "text" | "bigint" = "text") =>
      onPostgres
        ? sql`${sql(column)} = ANY((SELECT ${values}::${sql.literal(type)}[])::${sql.literal(type)}[])`
        : sql`${sql(column)} IN ${sql.in(values)}`

    /** `, <prefix><column>` for each key column: the key columns' part of a list of columns or values. */
    const keyColumnList = (columns: ReadonlyArray<string>, prefix = "") =>
      sql.literal(columns.map((column) => `, ${prefix}${column}`).join(""))

    /** `, <column> = <from>.<column>` for each key column: an `UPDATE`'s assignments of the key columns. */
    const keyAssignments = (columns: ReadonlyArray<string>, from: string) =>
      sql.literal(columns.map((column) => `, ${column} = ${from}.${column}`).join(""))

    /**
     * A statement writing rows, compiled (SQL text and parameters): `head`, up to its `VALUES` list; the list, a row
     * `(…, …)` per element of `rows`, one parameter per value, the first cast to `firstCast` when given (such as
     * `::bigint`); then `tail`. The list is written as text: made through the Statement API, a fragment per row, 5,000
     * rows took 10–30 ms and left as much garbage, against about 2 ms, and a group's writes are thousands of rows.
     * On PostgreSQL the tail's parameters are numbered on from the list's.
     */
    const withValues = (
      head: Statement.Statement<unknown>,
      rows: ReadonlyArray<ReadonlyArray<unknown>>,
      options: { readonly firstCast?: string; readonly tail?: Statement.Statement<unknown> } = {}
    ): CompiledStatement => {
      const [headText, headParams] = head.compile()
      const params: Array<unknown> = [...headParams]
      const parameter = (value: unknown) => {
        params.push(value)
        return onPostgres ? `$${params.length}` : "?"
      }
      const firstCast = options.firstCast ?? ""
      let text = headText
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!
        text += r === 0 ? "(" : ", ("
        for (let v = 0; v < row.length; v++) text += v === 0 ? parameter(row[v]) + firstCast : `, ${parameter(row[v])}`
        text += ")"
      }
      if (options.tail === undefined) return [text, params]
      const [tailText, tailParams] = options.tail.compile()
      const offset = params.length
      params.push(...tailParams)
      return [text + (onPostgres ? tailText.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + offset}`) : tailText), params]
    }

    /** `values` in lists of at most one statement's size (PostgreSQL: all in one). */
    const valueLists = <A>(values: ReadonlyArray<A>) =>
      values.length === 0 ? [] : onPostgres ? [values] : Arr.chunksOf(values, inChunk)

    /** `columns` of the stored rows holding one of `values` of the match key `field`. */
    const rowsHolding = <Row extends object>(
      table: string,
      field: string,
      values: ReadonlyArray<string>,
      columns: Statement.Fragment
    ) =>
      Effect.map(
        Effect.forEach(
          valueLists(values),
          (list) =>
            sql<Row>`SELECT ${columns} FROM ${sql(table)} WHERE ${holdsOneOf(RecordTables.keyColumn(field), list)}`
        ),
        (lists) => lists.flat()
      )

    /** The stored rows holding `values` of the match key `field`, by value, with every key column as stored. */
    const loadRows = (
      table: string,
      matchKeys: ReadonlyArray<string>,
      field: string,
      values: ReadonlyArray<string>
    ) => {
      const columns = matchKeys.map(RecordTables.keyColumn)
      const byColumn = RecordTables.keyColumn(field)
      return Effect.map(
        rowsHolding<
          { readonly id: number; readonly data: string; readonly created_at: number } & Record<string, string>
        >(table, field, values, sql`id, data, created_at${keyColumnList(columns)}`),
        (found) => {
          const rows = new Map<string, WorkingRow>()
          for (const row of found) {
            const data = JSON.parse(row.data) as Record<string, unknown>
            rows.set(row[byColumn]!, {
              id: Number(row.id),
              batch: -1,
              createdBy: -1,
              data,
              keys: keyTexts(matchKeys, data),
              createdAt: Number(row.created_at),
              changed: false,
              storedKeys: columns.map((column) => row[column] ?? null)
            })
          }
          return rows
        }
      )
    }

    /** The ids of the stored rows holding `values` of the match key `field`, by value. */
    const loadOwners = (table: string, field: string, values: ReadonlyArray<string>) =>
      Effect.map(
        rowsHolding<{ readonly id: number; readonly key: string }>(
          table,
          field,
          values,
          sql`id, ${sql(RecordTables.keyColumn(field))} AS key`
        ),
        (found) => new Map(found.map((row) => [row.key, Number(row.id)] as const))
      )

    /** The statement inserting `rows` into `table` (their data, and their key columns, `columns`), in order. */
    const insertStatement = (
      table: string,
      columns: ReadonlyArray<string>,
      rows: ReadonlyArray<NewRow>,
      now: number
    ): CompiledStatement =>
      onPostgres
        ? withValues(
            sql`INSERT INTO ${sql(table)} (data, created_at, updated_at${keyColumnList(columns)})
              SELECT v.data, ${now}, ${now}${keyColumnList(columns, "v.")} FROM (VALUES `,
            rows.map((row) => [row.data, ...row.keys]),
            { tail: sql`) AS v(data${keyColumnList(columns)})` }
          )
        : withValues(
            sql`INSERT INTO ${sql(table)} (data, created_at, updated_at${keyColumnList(columns)}) VALUES `,
            rows.map((row) => [row.data, now, now, ...row.keys])
          )

    /**
     * The statements inserting new rows (see {@link insertStatement}), compiled ahead: SQL text and parameters. None
     * returns rows, so on SQLite a transaction does not wait for them (`SqliteThread`'s pipelining), where a group's
     * thousands of new rows are ten statements or more. On SQLite the rows take the next ids of the sequence, one
     * after another (`RecordTables.idStatements`).
     */
    const compileInserts = (
      table: string,
      columns: ReadonlyArray<string>,
      rows: ReadonlyArray<NewRow>,
      now: number
    ): ReadonlyArray<CompiledStatement> => {
      const ids = RecordTables.idStatements(sql, table)
      return Arr.chunksOf(rows, rowsPerWrite(columns.length)).flatMap((chunk) => {
        const insert = insertStatement(table, columns, chunk, now)
        return onPostgres
          ? [insert]
          : [
              ...ids.before.map((statement) => statement.compile()),
              insert,
              ...ids.after.map((statement) => statement.compile())
            ]
      })
    }

    /**
     * Inserts new rows (their data and key columns), in order, and answers how to learn their ids, in the same order
     * (only a conflict naming a row the group created needs them). On PostgreSQL each statement of 5,000 rows returns
     * them (RETURNING's own order is not guaranteed, and ids grow in the order rows are inserted, so they are
     * sorted). On SQLite the inserts are pipelined ({@link compileInserts}) and their rows took the sequence's last
     * ids, read when asked: each insert waiting for its ids, and for the HTTP thread's turn to read them, kept the
     * transaction, and every acceptance behind it, waiting 2–20 ms more per 500 rows.
     */
    const insertRows = (
      table: string,
      matchKeys: ReadonlyArray<string>,
      rows: ReadonlyArray<NewRow>,
      now: number
    ): Effect.Effect<Effect.Effect<ReadonlyArray<number>, SqlError>, SqlError> => {
      const columns = matchKeys.map(RecordTables.keyColumn)
      if (!onPostgres) {
        const lastIds = Effect.map(sql<{ readonly last: number }>`SELECT last FROM record_ids`, ([sequence]) =>
          Array.from({ length: rows.length }, (_, i) => Number(sequence!.last) - rows.length + 1 + i)
        )
        return Effect.as(executeInTransaction(sql, compileInserts(table, columns, rows, now)), lastIds)
      }
      return Effect.map(
        Effect.forEach(Arr.chunksOf(rows, rowsPerWrite(columns.length)), (chunk) => {
          const [text, params] = insertStatement(table, columns, chunk, now)
          return executeInTransaction(sql, [[`${text} RETURNING id`, params]])
        }),
        (chunks) =>
          Effect.succeed(
            chunks.flatMap((returned) =>
              (returned as ReadonlyArray<{ readonly id: number }>).map((row) => Number(row.id)).sort((a, b) => a - b)
            )
          )
      )
    }

    /**
     * Writes the new data and key columns of changed rows that were loaded (they keep their id and creation time).
     * On PostgreSQL the rows are also named by `holdsOneOf` their ids: joined to a `VALUES` list of thousands of rows
     * alone, the planner hashed the list and scanned the whole table (300,000 rows, 5,000 updated: 91 ms, against
     * 65 ms by the index), a cost that grows with the table.
     */
    const updateRows = (
      table: string,
      matchKeys: ReadonlyArray<string>,
      rows: ReadonlyArray<{
        readonly id: number
        readonly createdAt: number
        readonly data: string
        readonly keys: ReadonlyArray<string | null>
      }>,
      now: number
    ) => {
      const columns = matchKeys.map(RecordTables.keyColumn)
      const update = (chunk: typeof rows): CompiledStatement =>
        onPostgres
          ? withValues(
              sql`UPDATE ${sql(table)} AS r SET data = u.data, updated_at = ${now}${keyAssignments(columns, "u")}
                FROM (VALUES `,
              chunk.map((row) => [row.id, row.data, ...row.keys]),
              {
                firstCast: "::bigint",
                tail: sql`) AS u(id, data${keyColumnList(columns)}) WHERE ${holdsOneOf(
                  "r.id",
                  chunk.map((row) => row.id),
                  "bigint"
                )} AND r.id = u.id`
              }
            )
          : withValues(
              sql`INSERT INTO ${sql(table)} (id, data, created_at, updated_at${keyColumnList(columns)}) VALUES `,
              chunk.map((row) => [row.id, row.data, row.createdAt, now, ...row.keys]),
              {
                tail: sql` ON CONFLICT (id) DO UPDATE SET data = excluded.data,
                  updated_at = excluded.updated_at${keyAssignments(columns, "excluded")}`
              }
            )
      return executeInTransaction(sql, Arr.chunksOf(rows, rowsPerWrite(columns.length)).map(update))
    }

    /** Empties the column of the match key `field` of the rows `ids`. */
    const clearKeys = (table: string, field: string, ids: ReadonlyArray<number>) =>
      Effect.forEach(
        valueLists(ids),
        (list) =>
          sql`UPDATE ${sql(table)} SET ${sql(RecordTables.keyColumn(field))} = NULL
            WHERE ${holdsOneOf("id", list, "bigint")}`,
        { discard: true }
      )

    /**
     * Plans the batches of a group, one after another, in the order given (each batch a job's valid rows): every
     * record is inserted (`matchKey` undefined) or merged into the row holding its `matchKey` value, exactly as if
     * each batch were applied in a transaction of its own after the one before it. The effect reads the rows the
     * batches touch and merges them in memory; the effect it answers writes the result, in the caller's transaction.
     *
     * The reads may run before that transaction opens, so that it holds the connection only to write (on SQLite
     * every acceptance waits for it): the rows read do not change in between, as an object's rows have one writer at
     * a time, the claim holding its ordered jobs (`JobsRepo`); a claim lost meanwhile fails the transaction's
     * completion, and the writes roll back. (Reading inside the transaction protected nothing more: on PostgreSQL it
     * reads committed rows and locks none.)
     */
    const plan = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      matchKey: string | undefined,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: number
    ) =>
      Effect.gen(function* () {
        // An object never written has no table to read: it is made by the write, in the transaction.
        const table = yield* tables.existing(workspace, definition.name)
        const matchKeys = definition.matchKeys
        // Where the upsert's match key is among the object's match keys (and so in each record's key texts).
        const matchKeyPosition = matchKey === undefined ? undefined : matchKeys.indexOf(matchKey)
        const records = batches.flatMap((rows, batch) =>
          rows.map(({ index, record }) => ({ batch, index, record, keys: keyTexts(matchKeys, record) }))
        )

        // Load the rows the batches merge into and, at the same time (the statements in flight together), the holders
        // of the records' values of the other match keys; then the holders of values only the loaded rows carry.
        const valuesOf = (position: number, rows: Iterable<{ readonly keys: KeyTexts }>) => {
          const values = new Set<string>()
          for (const { keys } of rows) if (keys[position] !== undefined) values.add(keys[position])
          return values
        }
        const otherKeys = Array.from(matchKeys.entries()).filter(([, field]) => field !== matchKey)
        const recordValues = otherKeys.map(([position]) => valuesOf(position, records))
        const [rows, ownersFound] =
          table === undefined
            ? [new Map<string, WorkingRow>(), otherKeys.map(() => new Map<string, number>())]
            : yield* Effect.all(
                [
                  matchKey === undefined || matchKeyPosition === undefined
                    ? Effect.succeed(new Map<string, WorkingRow>())
                    : loadRows(table, matchKeys, matchKey, Array.from(valuesOf(matchKeyPosition, records))),
                  Effect.forEach(otherKeys, ([, field], i) => loadOwners(table, field, Array.from(recordValues[i]!)), {
                    concurrency: "unbounded"
                  })
                ],
                { concurrency: "unbounded" }
              )
        // Who holds each match key's values, in the order of the match keys: a value a loaded row holds as stored, that
        // row (as a working row); another value a record carries, the id of the row holding it. Each map is made once,
        // from what was read (the upsert's match key: the loaded rows by their value); the merge moves values in them.
        const loaded = Array.from(rows.values())
        const ownersOf: Array<Map<string, Owner>> = matchKeys.map((_, position) =>
          position === matchKeyPosition ? rows : new Map<string, Owner>()
        )
        for (const [i, [position, field]] of otherKeys.entries()) {
          const current: Map<string, Owner> = ownersFound[i]!
          ownersOf[position] = current
          // A value a loaded row holds is that row's (the index keeps values unique).
          for (const row of loaded) {
            const held = row.storedKeys[position]
            if (held !== null && held !== undefined) current.set(held, row)
          }
          // A value a loaded row's data carries but another row holds (see `RecordTables.addMatchKey`).
          const unknown = new Set<string>()
          for (const row of loaded) {
            const value = row.keys[position]
            if (value !== undefined && !current.has(value) && !recordValues[i]!.has(value)) unknown.add(value)
          }
          if (unknown.size > 0 && table !== undefined) {
            for (const [value, id] of yield* loadOwners(table, field, Array.from(unknown))) current.set(value, id)
          }
        }

        const conflict = (
          row: Pick<Conflict, "batch" | "index">,
          keys: KeyTexts,
          self: WorkingRow | undefined
        ): Conflict | undefined => {
          for (let position = 0; position < matchKeys.length; position++) {
            const text = keys[position]
            if (text === undefined) continue
            const holder = ownersOf[position]!.get(text)
            if (holder === undefined || holder === self || (typeof holder === "number" && holder === self?.id)) continue
            return { ...row, field: matchKeys[position]!, text, holder }
          }
          return undefined
        }
        const moveKeys = (row: WorkingRow, keys: KeyTexts) => {
          for (let position = 0; position < matchKeys.length; position++) {
            const was = row.keys[position]
            const is = keys[position]
            if (was === is) continue
            const current = ownersOf[position]!
            if (was !== undefined && current.get(was) === row) current.delete(was)
            if (is !== undefined) current.set(is, row)
          }
          row.keys = keys
        }

        const created: Array<WorkingRow> = []
        const outcomes = batches.map((): Array<RowOutcome | Conflict> => [])
        let sinceTurn = 0
        for (const { batch, index, keys, record } of records) {
          if (++sinceTurn === mergeSlice) {
            sinceTurn = 0
            yield* nextTurn
          }
          const holder =
            matchKeyPosition === undefined ? undefined : ownersOf[matchKeyPosition]!.get(keys[matchKeyPosition]!)
          // Every row holding a value of the upsert's match key was loaded: a holder of it is a working row.
          const target = typeof holder === "object" ? holder : undefined
          if (target === undefined) {
            const rejected = conflict({ batch, index }, keys, undefined)
            if (rejected !== undefined) {
              outcomes[batch]!.push(rejected)
              continue
            }
            const row: WorkingRow = {
              id: undefined,
              batch,
              createdBy: index,
              data: mergeRecord({}, record),
              keys: [],
              createdAt: now,
              changed: true,
              storedKeys: []
            }
            moveKeys(row, keys)
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
          // A field the record leaves out keeps the row's value: so does its key text.
          const mergedKeys = matchKeys.map((field, position) =>
            record[field] !== undefined ? keys[position] : target.keys[position]
          )
          const rejected = conflict({ batch, index }, mergedKeys, target)
          if (rejected !== undefined) {
            outcomes[batch]!.push(rejected)
            continue
          }
          moveKeys(target, mergedKeys)
          // In place: the data of a working row is its own (parsed from storage, or made from a record above).
          mergeRecord(target.data, record)
          target.changed = true
          outcomes[batch]!.push(updated)
        }

        // A row's key columns: the values it holds (a value its data shares with an older row is the older row's).
        const keysOf = (row: WorkingRow) =>
          row.keys.map((text, position) => (text !== undefined && ownersOf[position]!.get(text) === row ? text : null))
        // A value that moves from one loaded row to another is taken from the first before the rows are written:
        // the unique index is checked row by row, not at the end of the statement.
        const giving: Array<readonly [field: string, ids: ReadonlyArray<number>]> = []
        for (const [position, field] of matchKeys.entries()) {
          const ids: Array<number> = []
          for (const row of loaded) {
            const held = row.storedKeys[position]
            if (held === null || held === undefined) continue
            const holder = ownersOf[position]!.get(held)
            if (typeof holder === "object" && holder !== row && holder.id !== undefined) ids.push(row.id!)
          }
          if (ids.length > 0) giving.push([field, ids])
        }
        // Rows whose key columns stay as they are do not write them (SQLite rewrites the index entries of every
        // column an UPDATE assigns, changed or not).
        const changed = loaded
          .filter((row) => row.changed)
          .map((row) => ({
            id: row.id!,
            createdAt: row.createdAt,
            data: JSON.stringify(row.data),
            keys: keysOf(row),
            storedKeys: row.storedKeys
          }))
        const [sameKeys, newKeys] = Arr.partition(changed, ({ keys, storedKeys }) =>
          keys.some((key, i) => key !== storedKeys[i])
        )
        const newRows = created.map((row) => ({ data: JSON.stringify(row.data), keys: keysOf(row) }))
        return Effect.gen(function* () {
          const table = yield* tables.ensure(workspace, definition)
          yield* executeInTransaction(sql, planningFor(onPostgres, changed.length + newRows.length))
          for (const [field, ids] of giving) yield* clearKeys(table, field, ids)
          yield* updateRows(
            table,
            [],
            sameKeys.map((row) => ({ ...row, keys: [] })),
            now
          )
          yield* updateRows(table, matchKeys, newKeys, now)
          const idsOfNewRows = yield* insertRows(table, matchKeys, newRows, now)
          // Conflicts are described once every new row they name has its id, as a later batch of the group names a
          // row that an earlier one created by its id (to that batch it is a stored row).
          const namesNewRow = outcomes.some((batch) =>
            batch.some(
              (outcome) => "holder" in outcome && typeof outcome.holder === "object" && outcome.holder.id === undefined
            )
          )
          if (namesNewRow) {
            const ids = yield* idsOfNewRows
            created.forEach((row, i) => {
              row.id = ids[i]
            })
          }
          return outcomes.map((batch) => batch.map((outcome) => ("holder" in outcome ? rejectionOf(outcome) : outcome)))
        })
      })

    /** The outcomes of a group's batches, one list per batch: what a planned write answers. */
    type PlannedWrite = Effect.Effect<ReadonlyArray<ReadonlyArray<RowOutcome>>>

    /** `plan`, its storage errors (reading or writing) turned into defects, which roll the caller's transaction back. */
    const planOrDie = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      matchKey: string | undefined,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: Date
    ): Effect.Effect<PlannedWrite> =>
      Effect.orDie(Effect.map(plan(workspace, definition, matchKey, batches, now.getTime()), Effect.orDie))

    /**
     * Plans the inserts of batches of an object without match keys, each batch its records' JSON texts: compiled when
     * this is called, nothing to read.
     */
    const planInserts = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      batches: ReadonlyArray<ReadonlyArray<string>>,
      now: Date
    ): Effect.Effect<PlannedWrite> => {
      const rows = batches.flat()
      const statements = [
        ...planningFor(onPostgres, rows.length),
        ...compileInserts(
          RecordTables.tableName(workspace, definition.name),
          [],
          rows.map((data) => ({ data, keys: [] })),
          now.getTime()
        )
      ]
      return Effect.succeed(
        Effect.orDie(
          Effect.as(
            Effect.zipRight(tables.ensure(workspace, definition), executeInTransaction(sql, statements)),
            batches.map((rows) => rows.map(() => inserted))
          )
        )
      )
    }

    const planAppendBatches = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: Date
    ): Effect.Effect<PlannedWrite> =>
      definition.matchKeys.length > 0
        ? planOrDie(workspace, definition, undefined, batches, now)
        : planInserts(
            workspace,
            definition,
            batches.map((rows) => rows.map((row) => JSON.stringify(row.record))),
            now
          )

    const planUpsertBatches = (
      workspace: string,
      definition: ObjectSchema.ObjectDefinition,
      matchKey: string,
      batches: ReadonlyArray<ReadonlyArray<RowInput>>,
      now: Date
    ): Effect.Effect<PlannedWrite> =>
      definition.matchKeys.includes(matchKey)
        ? planOrDie(workspace, definition, matchKey, batches, now)
        : Effect.dieMessage(`upsert by "${matchKey}", which is not a match key of object "${definition.name}"`)

    /** A page of the rows of an object's table, after the row `after`; none when the object has no table yet. */
    const page = (
      workspace: string,
      objectName: string,
      filter: Option.Option<RecordFilter>,
      after: number,
      limit: number
    ): Effect.Effect<ReadonlyArray<StoredRow>> =>
      Effect.orDie(
        Effect.flatMap(tables.existing(workspace, objectName), (table) =>
          table === undefined
            ? Effect.succeed([])
            : sql<StoredRow>`SELECT id, data, created_at, updated_at FROM ${sql(table)}
                WHERE ${Option.match(filter, {
                  onNone: () => sql`id > ${after}`,
                  onSome: ({ field, value }) =>
                    sql`${sql(RecordTables.keyColumn(field))} = ${keyText(value)} AND id > ${after}`
                })}
                ORDER BY id LIMIT ${limit}`
        )
      )

    return {
      /**
       * Inserts one record that carries no match-key value as a new row and returns it as stored: the synchronous
       * append of SPEC §1.9, which touches no other row and so needs no place in the acceptance order.
       */
      insertOne: (
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        record: RecordValidation.RecordFields,
        now: Date
      ): Effect.Effect<StoredRecord.StoredRecord> =>
        Effect.orDie(
          Effect.flatMap(tables.ensure(workspace, definition), (table) => {
            const [data, time] = [JSON.stringify(record), now.getTime()]
            const insert = RecordTables.insertWithIds(
              sql,
              table,
              sql<StoredRow>`INSERT INTO ${sql(table)} (data, created_at, updated_at) VALUES (${data}, ${time}, ${time})
                RETURNING id, data, created_at, updated_at`
            )
            return Effect.map(insert, (rows) => toStoredRecord(rows[0]!))
          })
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
        Effect.suspend(() =>
          Effect.map(Effect.flatten(planAppendBatches(workspace, definition, [rows], now)), (all) => all[0]!)
        ),

      /**
       * `append` of several batches (a group's consecutive appends), one after another. One list of outcomes per
       * batch. As `planUpsertBatches`: the effect reads and merges (for an object with match keys: who holds the
       * values the rows would take), and the effect it answers writes, in the caller's transaction. For an object
       * without match keys there is nothing to read, and every row's stored text and the insert statements (shared
       * by the batches) are built when called, so the transaction holds the connection only while they run.
       */
      planAppendBatches,

      /**
       * `planAppendBatches` for an object without match keys, of batches whose valid records are serialized already
       * (each batch its records' JSON texts, as the rows store them).
       */
      planInserts,

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
        Effect.map(Effect.flatten(planUpsertBatches(workspace, definition, matchKey, [rows], now)), (all) => all[0]!),

      /**
       * `upsert` of several batches (a group's consecutive upserts by one match key), one after another, in one pass:
       * the result is the one of upserting each batch in order. One list of outcomes per batch. The effect reads and
       * merges; the effect it answers writes, in the caller's transaction. The reads may run before that transaction
       * opens, or in it (see `plan`).
       */
      planUpsertBatches,

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
          const rows = yield* page(
            workspace,
            objectName,
            options.filter,
            Option.getOrElse(after, () => 0),
            limit + 1
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
          Effect.map(page(workspace, objectName, options.filter, after, pageSize), (rows) => [
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
              Effect.flatMap(tables.existing(workspace, objectName), (table) =>
                table === undefined
                  ? Effect.succeed(Option.none())
                  : Effect.map(
                      sql<StoredRow>`SELECT id, data, created_at, updated_at FROM ${sql(table)} WHERE id = ${Number(id)}`,
                      (rows) => Option.map(Arr.head(rows), toStoredRecord)
                    )
              )
            )
          : Effect.succeed(Option.none()),

      /**
       * Brings the object's table in line with a schema change from one whose match keys were `previousMatchKeys`
       * (see `RecordTables.changeMatchKeys`). Runs in the transaction that puts the schema.
       */
      changeMatchKeys: (
        workspace: string,
        definition: ObjectSchema.ObjectDefinition,
        previousMatchKeys: ReadonlyArray<string>
      ): Effect.Effect<void> =>
        Effect.orDie(RecordTables.changeMatchKeys(sql, workspace, definition, previousMatchKeys))
    } as const
  })
}) {}
