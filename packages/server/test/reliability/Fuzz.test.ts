/**
 * Issue 15's fuzzer over real sockets: a valid batch request with one hostile change to its path, headers or body
 * (a `;` parameter, bad percent-encoding, a long name; a wrong or conflicting `Content-Length`, another charset or
 * content type, a bad `Idempotency-Key`; bytes that are not UTF-8, truncated or random JSON). Every answer must be an
 * error envelope with a 4xx status, nothing may be stored, and another client must still be served.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { exchange, requestText } from "../support/RawSocket.js"
import * as TestService from "../support/TestService.js"

const validBody = JSON.stringify({
  records: [
    { key: "fuzz", a: 1 },
    { key: "fuzz-2", b: 2 }
  ]
})
const headers = {
  authorization: `Bearer ${TestService.tokens.alpha}`,
  "content-type": "application/json"
}

interface FuzzRequest {
  readonly target: string
  readonly headers: Record<string, string>
  readonly body: Buffer
}

const valid = (): FuzzRequest => ({
  target: "/public/v1/records/counters/append-batch",
  headers: { ...headers, "content-length": String(Buffer.byteLength(validBody)) },
  body: Buffer.from(validBody)
})

const withBody = (body: Buffer): FuzzRequest => ({
  ...valid(),
  headers: { ...headers, "content-length": String(body.length) },
  body
})

const pathChange = fc.oneof(
  fc.constantFrom(";", ";x", ";DROP%20TABLE", "#", ",", "%", "%ZZ", "%FF", "%C3", "!", "*", "'", "(", "@", ":"),
  fc.string({ minLength: 1, maxLength: 8 }).map((s) => `;${encodeURIComponent(s)}`)
)

const paths = fc
  .tuple(pathChange, fc.constantFrom("counters", "counters/append-batch", "objects"), fc.nat(20))
  .map(([change, rest, at]): FuzzRequest => {
    const target = `/public/v1/records/${rest}`
    const cut = Math.min(target.length, "/public/v1/records/".length + (at % (rest.length + 1)))
    return { ...valid(), target: `${target.slice(0, cut)}${change}${target.slice(cut)}` }
  })

const headerChanges = fc.oneof(
  fc.constantFrom<Record<string, string>>(
    { "content-type": "text/plain" },
    { "content-type": "application/json; charset=latin1" },
    { "content-type": "application/json; charset=utf-16" },
    { "content-type": "application/xml" },
    { "content-encoding": "br" },
    { "content-encoding": "gzip" },
    { "idempotency-key": "" },
    { "idempotency-key": "é".repeat(3) },
    { "idempotency-key": "k".repeat(300) },
    { authorization: "Bearer wrong-token" },
    { authorization: "Basic abc" }
  ),
  fc.string({ minLength: 1, maxLength: 6 }).map((s) => ({ "content-type": `application/${s.replace(/[\r\n]/g, "")}` })),
  fc.integer({ min: 1, max: 30 }).map((n) => ({ "content-length": String(validBody.length - n) })),
  fc.constantFrom("1x", "-1", "0x10", "1e3", "").map((value) => ({ "content-length": value })),
  fc.constant({ "transfer-encoding": "chunked" })
)

const headersFuzz = headerChanges.map((change): FuzzRequest => {
  const request = valid()
  return { ...request, headers: { ...request.headers, ...change } }
})

const invalidUtf8 = fc
  .tuple(fc.nat(validBody.length - 1), fc.constantFrom([0xff], [0xfe, 0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80]))
  .map(([at, bytes]) =>
    Buffer.concat([Buffer.from(validBody.slice(0, at)), Buffer.from(bytes), Buffer.from(validBody.slice(at))])
  )

const bodies = fc
  .oneof(
    invalidUtf8,
    fc.nat(validBody.length - 2).map((at) => Buffer.from(validBody.slice(0, at + 1))),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc
      .json()
      .filter((text) => !text.includes('"records"'))
      .map((text) => Buffer.from(text)),
    fc
      .constantFrom('{"records":[]}', '{"records":{}}', '{"records":[{"nope":1}]}', "[".repeat(5_000), "")
      .map((text) => Buffer.from(text))
  )
  .map(withBody)

const send = (request: FuzzRequest) =>
  Effect.flatMap(TestService.TestService, ({ origin }) =>
    exchange(origin, requestText("POST", request.target, request.headers, request.body), { timeoutMs: 20_000 })
  )

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("hostile requests (issue 15)", (it) => {
    it.effect("each gets a 4xx envelope, nothing is stored, and another client is still served", () =>
      Effect.gen(function* () {
        const { anonymous, api } = yield* TestService.TestService
        const samples = fc.sample(fc.oneof(paths, headersFuzz, bodies), { numRuns: 80, seed: 15 })
        for (const request of samples) {
          const response = yield* send(request)
          const context = `${request.target} ${JSON.stringify(request.headers)} ${JSON.stringify(request.body.toString("latin1").slice(0, 200))} → ${response.status} ${response.body}`
          assert.isAtLeast(response.status, 400, context)
          assert.isBelow(response.status, 500, context)
          const envelope = JSON.parse(response.body) as { success: boolean; error: { code: string } }
          assert.isFalse(envelope.success, context)
          assert.match(envelope.error.code, /^CDP_ETL\./, context)
          assert.strictEqual((yield* anonymous.ops.healthz()).data.status, "ok")
        }
        assert.deepStrictEqual(yield* TestService.allRecords(api.alpha, "counters"), [])
        const metrics = yield* TestService.rawGet("/metrics")
        assert.match(metrics.text, /^batchwrite_records_accepted_total 0$/m)
      })
    )
  })
})
