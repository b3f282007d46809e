/**
 * Splitting records into batches the service accepts: at most `maxRecords` records and at most `maxBytes` bytes
 * of request body, measured on the exact JSON text that is sent (`{"records":[…]}`, plus `"matchKey"` for an
 * upsert). Works over any `Iterable` lazily and over an Effect `Stream` without collecting it; both run the same
 * state machine, so they give the same items.
 */
import { Chunk, Option, Stream } from "effect"
import { maxBodyBytes, maxRecordsPerBatch } from "./Limits.js"

/**
 * The limits a batch must respect, and the match key written into every body (upsert). Without a match key the
 * body is `{"records":[…]}`; with one it is `{"records":[…],"matchKey":"…"}`.
 */
export interface BatchLimits {
  /** Most records in one batch; default 10,000. Values below 1 count as 1. */
  readonly maxRecords: number
  /** Most bytes of one body (UTF-8); default 10,485,760. */
  readonly maxBytes: number
  /** The upsert match key; its bytes count towards `maxBytes`. */
  readonly matchKey?: string | undefined
}

/**
 * Records ready to send. `body` is the exact request body (`JSON.stringify({ records, matchKey })`): post it as
 * it is, never serialize the records again. `records[i]` is record `firstIndex + i` of the input: a batch always
 * holds a contiguous run of the input.
 */
export interface Batch<A> {
  readonly _tag: "Batch"
  readonly records: ReadonlyArray<A>
  /** The JSON text to send. */
  readonly body: string
  /** The UTF-8 length of `body`. */
  readonly bytes: number
  /** The input index of `records[0]`. */
  readonly firstIndex: number
  /** The match key written into `body`, if any. */
  readonly matchKey: string | undefined
}

/** A record whose body alone, `{"records":[record]…}`, is larger than `maxBytes`: it can never be sent. */
export interface Oversized<A> {
  readonly _tag: "Oversized"
  readonly record: A
  /** The record's input index. */
  readonly index: number
  /** The UTF-8 length of the body holding this record alone. */
  readonly bytes: number
}

/**
 * A record that is not JSON: `JSON.stringify` throws on it (a BigInt, a cycle) or gives no text (`undefined`, a
 * function, a symbol). `reason` says which.
 */
export interface Unserializable<A> {
  readonly _tag: "Unserializable"
  readonly record: A
  /** The record's input index. */
  readonly index: number
  readonly reason: string
}

/**
 * What splitting yields, in input order: batches to send, and the records that cannot be sent, each on its own,
 * so that nothing is ever dropped silently.
 */
export type BatchItem<A> = Batch<A> | Oversized<A> | Unserializable<A>

/**
 * The UTF-8 length of a string, as `new TextEncoder().encode(text).length` (a lone surrogate counts as the 3 bytes
 * of U+FFFD).
 */
export const utf8Length = (text: string): number =>
  text.length <= scratchLimit ? encoder.encodeInto(text, scratch).written : countUtf8(text)

// Native encoding into a reused buffer is the fastest count for the usual short texts (records of a few hundred
// bytes); a text that might not fit (3 bytes per UTF-16 unit at most) is counted by hand instead.
const encoder = new TextEncoder()
const scratch = new Uint8Array(64 * 1024)
const scratchLimit = Math.floor(scratch.length / 3)

const countUtf8 = (text: string): number => {
  const length = text.length
  let bytes = length
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) {
      bytes += 1
    } else if (code >= 0xd800 && code < 0xdc00 && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // a surrogate pair: 2 UTF-16 units, 4 bytes
      bytes += 2
      i++
    } else {
      bytes += 2
    }
  }
  return bytes
}

const bodyPrefix = `{"records":[`

const bodySuffix = (matchKey: string | undefined): string =>
  matchKey === undefined ? "]}" : `],"matchKey":${JSON.stringify(matchKey)}}`

const noText = "JSON.stringify gives no text for it (undefined, a function or a symbol)"

/**
 * The splitting state machine, shared by `split` and `splitStream`. Greedy: a record joins the open batch when
 * both limits still hold with it; otherwise the open batch is emitted and the record opens the next one. A record
 * that cannot be sent closes the open batch (so batches stay contiguous runs of the input) and is emitted alone.
 */
class Splitter<A> {
  private readonly maxRecords: number
  private readonly maxBytes: number
  private readonly matchKey: string | undefined
  private readonly suffix: string
  /** Bytes of an empty body: the prefix and the suffix. */
  private readonly overhead: number
  private records: Array<A> = []
  private parts: Array<string> = []
  /** Bytes of the open batch's records and the commas between them. */
  private contentBytes = 0
  private firstIndex = 0
  private nextIndex = 0

  constructor(limits: Partial<BatchLimits> | undefined) {
    const maxRecords = limits?.maxRecords ?? maxRecordsPerBatch
    const maxBytes = limits?.maxBytes ?? maxBodyBytes
    this.maxRecords = maxRecords >= 1 ? Math.floor(maxRecords) : 1
    this.maxBytes = Number.isNaN(maxBytes) ? 0 : maxBytes
    this.matchKey = limits?.matchKey
    this.suffix = bodySuffix(this.matchKey)
    this.overhead = bodyPrefix.length + utf8Length(this.suffix)
  }

  /** Takes the next record; appends to `out` whatever it completes. */
  push(record: A, out: Array<BatchItem<A>>): void {
    const index = this.nextIndex++
    let part: string | undefined
    try {
      part = JSON.stringify(record)
    } catch (error) {
      this.flush(out)
      out.push({ _tag: "Unserializable", record, index, reason: `JSON.stringify fails on it: ${describe(error)}` })
      return
    }
    if (part === undefined) {
      this.flush(out)
      out.push({ _tag: "Unserializable", record, index, reason: noText })
      return
    }
    const partBytes = utf8Length(part)
    if (this.overhead + partBytes > this.maxBytes) {
      this.flush(out)
      out.push({ _tag: "Oversized", record, index, bytes: this.overhead + partBytes })
      return
    }
    const count = this.records.length
    if (count > 0 && (count >= this.maxRecords || this.overhead + this.contentBytes + 1 + partBytes > this.maxBytes)) {
      this.flush(out)
    }
    if (this.records.length === 0) {
      this.firstIndex = index
      this.contentBytes = partBytes
    } else {
      this.contentBytes += 1 + partBytes
    }
    this.records.push(record)
    this.parts.push(part)
  }

  /** Emits the open batch, if any. */
  flush(out: Array<BatchItem<A>>): void {
    if (this.records.length === 0) return
    out.push({
      _tag: "Batch",
      records: this.records,
      body: bodyPrefix + this.parts.join(",") + this.suffix,
      bytes: this.overhead + this.contentBytes,
      firstIndex: this.firstIndex,
      matchKey: this.matchKey
    })
    this.records = []
    this.parts = []
    this.contentBytes = 0
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

function* splitIterator<A>(records: Iterable<A>, limits: Partial<BatchLimits> | undefined): Generator<BatchItem<A>> {
  const splitter = new Splitter<A>(limits)
  const out: Array<BatchItem<A>> = []
  for (const record of records) {
    splitter.push(record, out)
    if (out.length > 0) {
      yield* out
      out.length = 0
    }
  }
  splitter.flush(out)
  yield* out
}

/**
 * Splits records into batches within `limits` (defaults: 10,000 records, 10,485,760 bytes, no match key), in input
 * order. Greedy: every batch is as long as the limits allow, so it ends only where the next record would break a
 * limit, cannot be sent, or the input ends. Records that cannot be sent come out alone, in their place:
 * `Oversized` when their body alone is over `maxBytes`, `Unserializable` when they are not JSON.
 *
 * Lazy: it reads the input only as far as the items taken need, holds at most one open batch, and serializes each
 * record once. Each iteration reads `records` again.
 */
export const split = <A>(records: Iterable<A>, limits?: Partial<BatchLimits>): Iterable<BatchItem<A>> => ({
  [Symbol.iterator]: () => splitIterator(records, limits)
})

/**
 * `split` over a `Stream`: the same items, emitted as soon as each is complete, without collecting the stream. The
 * open batch is emitted when the stream ends; if the stream fails, the failure passes through and the open batch
 * is dropped with it.
 */
export const splitStream =
  (limits?: Partial<BatchLimits>) =>
  <A, E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<BatchItem<A>, E, R> =>
    Stream.suspend(() => {
      const splitter = new Splitter<A>(limits)
      return self.pipe(
        Stream.mapChunks((chunk) => {
          const out: Array<BatchItem<A>> = []
          for (const record of chunk) splitter.push(record, out)
          return Chunk.unsafeFromArray(out)
        }),
        Stream.concat(
          Stream.suspend(() => {
            const out: Array<BatchItem<A>> = []
            splitter.flush(out)
            return Stream.fromChunk(Chunk.unsafeFromArray(out))
          })
        )
      )
    })

/**
 * Splits a batch into two halves by record count (the first takes the extra record), each with its own body,
 * bytes and `firstIndex`, and the same match key: what a sender does when the service answers `413`. `None` for a
 * batch of one record, which cannot be split. The halves' records are serialized again, so they must not have been
 * changed since the batch was made.
 */
export const halve = <A>(batch: Batch<A>): Option.Option<readonly [Batch<A>, Batch<A>]> => {
  const count = batch.records.length
  if (count < 2) return Option.none()
  const middle = Math.ceil(count / 2)
  return Option.some([
    makeBatch(batch.records.slice(0, middle), batch.firstIndex, batch.matchKey),
    makeBatch(batch.records.slice(middle), batch.firstIndex + middle, batch.matchKey)
  ] as const)
}

const makeBatch = <A>(records: ReadonlyArray<A>, firstIndex: number, matchKey: string | undefined): Batch<A> => {
  const body = JSON.stringify(matchKey === undefined ? { records } : { records, matchKey })
  return { _tag: "Batch", records, body, bytes: utf8Length(body), firstIndex, matchKey }
}
