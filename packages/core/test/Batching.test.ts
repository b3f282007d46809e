import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import * as fc from "fast-check"
import { type Batch, type BatchItem, halve, split, splitStream, utf8Length } from "../src/Batching.js"

const encoder = new TextEncoder()
const byteLength = (text: string): number => encoder.encode(text).length

/** The body the service must receive, by the definition: `JSON.stringify({ records, matchKey })`. */
const referenceBody = (records: ReadonlyArray<unknown>, matchKey: string | undefined): string =>
  JSON.stringify(matchKey === undefined ? { records } : { records, matchKey })

const referenceBytes = (records: ReadonlyArray<unknown>, matchKey: string | undefined): number =>
  byteLength(referenceBody(records, matchKey))

const isUnserializable = (value: unknown): boolean => {
  try {
    return JSON.stringify(value) === undefined
  } catch {
    return true
  }
}

const batches = <A>(items: ReadonlyArray<BatchItem<A>>): Array<Batch<A>> =>
  items.filter((item): item is Batch<A> => item._tag === "Batch")

// Text with astral characters, lone surrogates and multi-byte characters, so byte and UTF-16 lengths differ.
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: codeUnit, maxLength: 10 }),
  fc.string({ unit: fc.constantFrom("a", "é", "€", "😀"), minLength: 20, maxLength: 80 })
)
const field = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))
const jsonRecord = fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), field, { maxKeys: 4 })
const circular = fc.constant(null).map(() => {
  const value: Record<string, unknown> = { a: 1 }
  value.self = value
  return value
})
const notJson = fc.oneof(
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol("s")),
  fc.bigInt().map((n) => ({ n })),
  circular
)
const record: fc.Arbitrary<unknown> = fc.oneof({ arbitrary: jsonRecord, weight: 20 }, { arbitrary: notJson, weight: 1 })

const limits = fc.record({
  maxRecords: fc.integer({ min: 1, max: 8 }),
  maxBytes: fc.integer({ min: 20, max: 400 }),
  matchKey: fc.option(fc.string({ unit: "binary", maxLength: 8 }), { nil: undefined })
})

/** Checks every law of splitting on one input. */
const checkLaws = (
  input: ReadonlyArray<unknown>,
  items: ReadonlyArray<BatchItem<unknown>>,
  { matchKey, maxBytes, maxRecords }: { maxRecords: number; maxBytes: number; matchKey: string | undefined }
) => {
  const startOf = new Map<number, BatchItem<unknown>>()
  let cursor = 0
  for (const item of items) {
    if (item._tag === "Batch") {
      // every record once, in order, batches are contiguous runs of the input
      assert.strictEqual(item.firstIndex, cursor)
      assert.isAbove(item.records.length, 0)
      for (let i = 0; i < item.records.length; i++) assert.isTrue(Object.is(item.records[i], input[cursor + i]))
      startOf.set(cursor, item)
      cursor += item.records.length
      // both limits, and the body is exactly what is sent
      assert.isAtMost(item.records.length, maxRecords)
      assert.isAtMost(item.bytes, maxBytes)
      assert.strictEqual(item.body, referenceBody(item.records, matchKey))
      assert.strictEqual(item.bytes, byteLength(item.body))
      assert.deepStrictEqual(
        JSON.parse(item.body),
        JSON.parse(
          JSON.stringify(matchKey === undefined ? { records: item.records } : { records: item.records, matchKey })
        )
      )
      assert.strictEqual(item.matchKey, matchKey)
    } else {
      assert.strictEqual(item.index, cursor)
      assert.isTrue(Object.is(item.record, input[cursor]))
      startOf.set(cursor, item)
      cursor += 1
      if (item._tag === "Oversized") {
        // exactly the records too big alone
        assert.isFalse(isUnserializable(item.record))
        assert.strictEqual(item.bytes, referenceBytes([item.record], matchKey))
        assert.isAbove(item.bytes, maxBytes)
      } else {
        assert.isTrue(isUnserializable(item.record))
        assert.isNotEmpty(item.reason)
      }
    }
  }
  assert.strictEqual(cursor, input.length)
  // greedy: a batch ends only where the next record could not have joined it
  for (const batch of batches(items)) {
    const next = batch.firstIndex + batch.records.length
    if (next === input.length) continue
    const nextItem = startOf.get(next)!
    const couldNotJoin =
      nextItem._tag !== "Batch" ||
      batch.records.length === maxRecords ||
      referenceBytes([...batch.records, input[next]], matchKey) > maxBytes
    assert.isTrue(couldNotJoin, `batch at ${batch.firstIndex} could have taken record ${next}`)
  }
}

const runStream = <A>(stream: Stream.Stream<BatchItem<A>>): Array<BatchItem<A>> =>
  Chunk.toArray(Effect.runSync(Stream.runCollect(stream)))

describe("utf8Length", () => {
  it("equals TextEncoder's byte count, lone surrogates included", () => {
    fc.assert(fc.property(text, (s) => utf8Length(s) === byteLength(s)))
    // long texts take another path than short ones
    const padding = "x".repeat(30_000)
    fc.assert(fc.property(text, text, (a, b) => utf8Length(a + padding + b) === byteLength(a + padding + b)))
    assert.strictEqual(utf8Length("aé€😀\ud800".repeat(10_000)), 13 * 10_000)
    assert.strictEqual(utf8Length("aé€😀"), 1 + 2 + 3 + 4)
    assert.strictEqual(utf8Length("\ud800x\udc00"), 3 + 1 + 3)
  })
})

describe("split", () => {
  it("keeps every record once in order, respects both limits, and is greedy", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), limits, (input, lim) => {
        checkLaws(input, [...split(input, lim)], lim)
      }),
      { numRuns: 500 }
    )
  })

  it("gives no items for no records", () => {
    assert.deepStrictEqual([...split([])], [])
    assert.deepStrictEqual(runStream(Stream.empty.pipe(splitStream())), [])
  })

  it("takes 10,000 records in one batch by default, and the 10,001st in a second", () => {
    const records = Array.from({ length: 10_001 }, (_, i) => ({ i }))
    const one = [...split(records.slice(0, 10_000))]
    assert.deepStrictEqual(
      one.map((item) => item._tag === "Batch" && item.records.length),
      [10_000]
    )
    const two = batches([...split(records)])
    assert.deepStrictEqual(
      two.map((b) => [b.firstIndex, b.records.length]),
      [
        [0, 10_000],
        [10_000, 1]
      ]
    )
    assert.strictEqual(two[1]!.body, '{"records":[{"i":10000}]}')
  })

  it("puts a record whose body is exactly the byte limit in a batch, and flags one a byte over", () => {
    const r = { s: "é😀x".repeat(10) }
    const exact = referenceBytes([r], undefined)
    const [fits] = [...split([r], { maxBytes: exact })]
    assert.strictEqual(fits?._tag, "Batch")
    assert.strictEqual(fits?._tag === "Batch" && fits.bytes, exact)
    assert.deepStrictEqual(
      [...split([r], { maxBytes: exact - 1 })],
      [{ _tag: "Oversized", record: r, index: 0, bytes: exact }]
    )
  })

  it("closes a batch exactly at the byte limit", () => {
    const records = [{ a: "€€" }, { b: "😀" }, { c: 1 }]
    const twoBytes = referenceBytes(records.slice(0, 2), undefined)
    const atLimit = batches([...split(records, { maxBytes: twoBytes })])
    assert.deepStrictEqual(
      atLimit.map((b) => [b.firstIndex, b.bytes]),
      [
        [0, twoBytes],
        [2, referenceBytes([{ c: 1 }], undefined)]
      ]
    )
    const overLimit = batches([...split(records, { maxBytes: twoBytes - 1 })])
    assert.deepStrictEqual(
      overLimit.map((b) => b.records.length),
      [1, 2]
    )
  })

  it("counts the match key's bytes", () => {
    const r = { email: "a@b.c" }
    const withoutKey = referenceBytes([r], undefined)
    assert.strictEqual([...split([r], { maxBytes: withoutKey })][0]?._tag, "Batch")
    const withKey = [...split([r], { maxBytes: withoutKey, matchKey: "émail" })]
    assert.deepStrictEqual(withKey, [
      { _tag: "Oversized", record: r, index: 0, bytes: withoutKey + byteLength(',"matchKey":"émail"') }
    ])
    const [batch] = [...split([r], { matchKey: "émail" })]
    assert.strictEqual(batch?._tag === "Batch" && batch.body, '{"records":[{"email":"a@b.c"}],"matchKey":"émail"}')
  })

  it("flags records that are not JSON, with a reason, and goes on", () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    const input: Array<unknown> = [{ a: 1 }, undefined, { b: 2 }, { n: 1n }, cycle, () => 1, { c: 3 }]
    const items = [...split(input)]
    assert.deepStrictEqual(
      items.map((item) => (item._tag === "Batch" ? `Batch@${item.firstIndex}` : `${item._tag}@${item.index}`)),
      ["Batch@0", "Unserializable@1", "Batch@2", "Unserializable@3", "Unserializable@4", "Unserializable@5", "Batch@6"]
    )
    const reasons = items.flatMap((item) => (item._tag === "Unserializable" ? [item.reason] : []))
    assert.include(reasons[0], "undefined")
    assert.include(reasons[1], "BigInt")
    assert.include(reasons[2], "circular")
  })

  it("treats maxRecords below 1 as 1", () => {
    assert.deepStrictEqual(
      batches([...split([{ a: 1 }, { a: 2 }], { maxRecords: 0 })]).map((b) => b.records.length),
      [1, 1]
    )
  })

  it("is lazy: takes two batches from an infinite input, reading only what they need", () => {
    let read = 0
    function* forever() {
      while (true) yield { i: read++ }
    }
    const iterator = split(forever(), { maxRecords: 3 })[Symbol.iterator]()
    const first = iterator.next().value as BatchItem<{ i: number }>
    const second = iterator.next().value as BatchItem<{ i: number }>
    assert.deepStrictEqual(
      [first, second].map((item) => item._tag === "Batch" && item.records.map((r) => r.i)),
      [
        [0, 1, 2],
        [3, 4, 5]
      ]
    )
    // the 7th record is what shows the second batch is full
    assert.strictEqual(read, 7)
  })

  it("can be iterated again", () => {
    const splitting = split([{ a: 1 }, { a: 2 }, { a: 3 }], { maxRecords: 2 })
    assert.deepStrictEqual([...splitting], [...splitting])
  })
})

describe("splitStream", () => {
  it("gives the same items as split, whatever the chunking", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), limits, fc.integer({ min: 1, max: 7 }), (input, lim, size) => {
        const fromStream = runStream(Stream.fromIterable(input).pipe(Stream.rechunk(size), splitStream(lim)))
        assert.deepStrictEqual(fromStream, [...split(input, lim)])
        checkLaws(input, fromStream, lim)
      }),
      { numRuns: 300 }
    )
  })

  it.effect("reads no more of an infinite stream than the batches taken need", () =>
    Effect.gen(function* () {
      let read = 0
      const items = yield* Stream.repeatEffect(Effect.sync(() => ({ i: read++ }))).pipe(
        splitStream({ maxRecords: 3 }),
        Stream.take(2),
        Stream.runCollect
      )
      assert.deepStrictEqual(
        Chunk.toArray(items).map((item) => item._tag === "Batch" && item.records.map((r) => r.i)),
        [
          [0, 1, 2],
          [3, 4, 5]
        ]
      )
      assert.strictEqual(read, 7)
    })
  )

  it.effect("starts afresh on every run", () =>
    Effect.gen(function* () {
      const stream = Stream.make({ a: 1 }, { a: 2 }, { a: 3 }).pipe(splitStream({ maxRecords: 2 }))
      const first = yield* Stream.runCollect(stream)
      const second = yield* Stream.runCollect(stream)
      assert.deepStrictEqual(Chunk.toArray(second), Chunk.toArray(first))
      assert.strictEqual(Chunk.size(first), 2)
    })
  )

  it.effect("passes the stream's failure through", () =>
    Effect.gen(function* () {
      const error = yield* Stream.make({ a: 1 }).pipe(
        Stream.concat(Stream.fail("boom")),
        splitStream(),
        Stream.runCollect,
        Effect.flip
      )
      assert.strictEqual(error, "boom")
    })
  )
})

describe("halve", () => {
  it("splits a batch into two halves with their own bodies, bytes and first indexes", () => {
    fc.assert(
      fc.property(
        fc.array(jsonRecord, { minLength: 2, maxLength: 30 }),
        fc.option(fc.string({ unit: "binary", maxLength: 8 }), { nil: undefined }),
        fc.nat(100),
        (input, matchKey, offset) => {
          // records that are not JSON in front, so the batch starts at `offset`
          const padded = [...Array.from({ length: offset }, () => undefined), ...input]
          const [batch] = batches([...split(padded, { maxRecords: Infinity, maxBytes: Infinity, matchKey })])
          assert.strictEqual(batch!.firstIndex, offset)
          const halves = Option.getOrThrow(halve(batch!))
          const [left, right] = halves
          assert.strictEqual(left.records.length, Math.ceil(input.length / 2))
          assert.deepStrictEqual([...left.records, ...right.records], input)
          assert.strictEqual(left.firstIndex, offset)
          assert.strictEqual(right.firstIndex, offset + left.records.length)
          for (const half of halves) {
            assert.strictEqual(half.body, referenceBody(half.records, matchKey))
            assert.strictEqual(half.bytes, byteLength(half.body))
            assert.strictEqual(half.matchKey, matchKey)
          }
        }
      )
    )
  })

  it("cannot halve a batch of one record", () => {
    const [batch] = batches([...split([{ a: 1 }])])
    assert.isTrue(Option.isNone(halve(batch!)))
  })
})
