/**
 * Issue 15, cases 7 and 8, over real HTTP (bare sockets where no HTTP client would send the bytes): a path with a
 * `;` parameter never reaches the object before it, bad percent-encoding and long names answer envelopes, and what
 * Node's HTTP parser refuses (conflicting or bad `Content-Length` / `Transfer-Encoding`, headers over 16 KB, a
 * request that arrives too slowly) is answered with the error envelope too, while the service goes on serving.
 */
import { errorEnvelopes } from "@batchwrite/api"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { exchange, requestText, type SocketResponse } from "../support/RawSocket.js"
import * as TestService from "../support/TestService.js"

const auth = { authorization: `Bearer ${TestService.tokens.alpha}` }
const json = { ...auth, "content-type": "application/json" }

/** The response must be the error envelope of `code` with `status`. */
const expectEnvelope = (response: SocketResponse, status: number, code: string) => {
  assert.strictEqual(response.status, status, response.body)
  assert.match(response.headers["content-type"] ?? "", /^application\/json/)
  const body = JSON.parse(response.body) as { success: boolean; error: { code: string; message: string } }
  assert.isFalse(body.success)
  assert.strictEqual(body.error.code, code, response.body)
  assert.isNotEmpty(body.error.message)
}

const codeOf = (tag: string) => errorEnvelopes.find((schema) => schema.tag === tag)!.code

const send = (method: string, target: string, headers: Record<string, string>, body?: string | Buffer) =>
  Effect.flatMap(TestService.TestService, ({ origin }) => exchange(origin, requestText(method, target, headers, body)))

/** A `GET` of each target must answer the envelope of `tag` with `status`, its message saying `text`. */
const expectEachGet = (targets: ReadonlyArray<string>, [status, tag]: readonly [number, string], text: string) =>
  Effect.forEach(targets, (target) =>
    Effect.map(send("GET", target, auth), (response) => {
      expectEnvelope(response, status, codeOf(tag))
      assert.include(response.body, text)
    })
  )

/** The schema of `counters` as configured, read back. */
const countersSchema = Effect.flatMap(TestService.TestService, ({ api }) =>
  Effect.map(api.alpha.objects.getObject({ path: { name: "counters" } }), (response) => response.data)
)

const countersRows = Effect.flatMap(TestService.TestService, ({ api }) => TestService.allRecords(api.alpha, "counters"))

TestService.forEachAdapter((adapter) => {
  layer(TestService.layer({ adapter }), { excludeTestServices: true })("request paths (issue 15, case 7)", (it) => {
    it.effect("a ';' in a path is a 400 envelope: the batch, the schema PUT and the read never reach 'counters'", () =>
      Effect.gen(function* () {
        const before = yield* countersSchema
        const single = yield* send("POST", "/public/v1/records/counters;x/append-batch", json, '{"key":"semi"}')
        expectEnvelope(single, 400, codeOf("RequestInvalid"))
        assert.include(single.body, "';'")
        const batch = yield* send("POST", "/public/v1/records/counters;x", json, '{"records":[{"key":"semi"}]}')
        expectEnvelope(batch, 400, codeOf("RequestInvalid"))
        const put = yield* send(
          "PUT",
          "/public/v1/objects/counters;x",
          json,
          JSON.stringify({ fields: { key: { type: "string", required: true } }, matchKeys: ["key"] })
        )
        expectEnvelope(put, 400, codeOf("RequestInvalid"))
        expectEnvelope(
          yield* send("GET", "/public/v1/objects/counters;DROP%20TABLE%20x", auth),
          400,
          codeOf("RequestInvalid")
        )
        expectEnvelope(yield* send("GET", "/public/v1/objects/counters#x", auth), 400, codeOf("RequestInvalid"))
        assert.deepStrictEqual(yield* countersSchema, before)
        assert.deepStrictEqual(yield* countersRows, [])
      })
    )

    it.effect("bad percent-encoding is a 400 envelope; an encoded ';' is part of the name, an unknown object", () =>
      Effect.gen(function* () {
        yield* expectEachGet(
          ["/public/v1/objects/co%ZZunters", "/public/v1/objects/%FF", "/public/v1/records/%E0%A4%A/append-batch"],
          [400, "RequestInvalid"],
          "percent-encoding"
        )
        expectEnvelope(yield* send("GET", "/public/v1/objects/counters%3Bx", auth), 404, codeOf("ObjectNotFound"))
      })
    )

    it.effect("names and ids over 100 characters get their handler's envelope, not an empty route 404", () =>
      Effect.gen(function* () {
        const long = "a".repeat(150)
        expectEnvelope(yield* send("GET", `/public/v1/objects/${long}`, auth), 404, codeOf("ObjectNotFound"))
        expectEnvelope(
          yield* send("GET", `/public/v1/records/counters/jobs/rjob_${long}`, auth),
          404,
          codeOf("JobNotFound")
        )
        const put = yield* send(
          "PUT",
          `/public/v1/objects/${long}`,
          json,
          JSON.stringify({ fields: { a: { type: "string" } } })
        )
        expectEnvelope(put, 400, codeOf("RequestInvalid"))
        const batch = yield* send("POST", `/public/v1/records/${long}/append-batch`, json, '{"records":[{"a":1}]}')
        expectEnvelope(batch, 404, codeOf("ObjectNotFound"))
      })
    )

    it.effect("paths are read exactly: another case or a trailing slash is no route (the route table agrees)", () =>
      Effect.gen(function* () {
        yield* expectEachGet(
          ["/public/v1/OBJECTS/counters", "/public/v1/objects/counters/", "/public/v1//objects/counters"],
          [404, "RouteNotFound"],
          "the API lives under /public/v1"
        )
      })
    )
  })

  layer(TestService.layer({ adapter }), { excludeTestServices: true })(
    "what Node's HTTP parser refuses (issue 15, case 8)",
    (it) => {
      const batchHead = `POST /public/v1/records/counters/append-batch HTTP/1.1\r\nhost: x\r\nauthorization: ${auth.authorization}\r\ncontent-type: application/json\r\n`
      const body = '{"records":[{"key":"parser"}]}'
      const cases: ReadonlyArray<readonly [string, string, number, string]> = [
        [
          "two Content-Lengths",
          `${batchHead}content-length: ${body.length}\r\ncontent-length: 3\r\n\r\n${body}`,
          400,
          "RequestInvalid"
        ],
        [
          "a Content-Length that is not a number",
          `${batchHead}content-length: 1x\r\n\r\n${body}`,
          400,
          "RequestInvalid"
        ],
        [
          "Content-Length with Transfer-Encoding",
          `${batchHead}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
          400,
          "RequestInvalid"
        ],
        ["an unknown Transfer-Encoding", `${batchHead}transfer-encoding: gzip\r\n\r\n${body}`, 400, "RequestInvalid"],
        [
          "a bad chunk size",
          `${batchHead}transfer-encoding: chunked\r\n\r\nZZ\r\n${body}\r\n0\r\n\r\n`,
          400,
          "RequestInvalid"
        ],
        ["not HTTP at all", "HELLO\r\n\r\n", 400, "RequestInvalid"],
        [
          "a URL over 16 KB",
          `GET /public/v1/objects/${"a".repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
          431,
          "HeadersTooLarge"
        ],
        [
          "headers over 16 KB",
          `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"b".repeat(20_000)}\r\n\r\n`,
          431,
          "HeadersTooLarge"
        ]
      ]
      for (const [name, request, status, tag] of cases) {
        it.effect(`${name}: ${status} envelope, nothing stored, the service still serves`, () =>
          Effect.gen(function* () {
            const { anonymous, origin } = yield* TestService.TestService
            const response = yield* exchange(origin, request)
            expectEnvelope(response, status, codeOf(tag))
            assert.strictEqual(response.headers.connection, "close")
            assert.deepStrictEqual(yield* countersRows, [])
            assert.strictEqual((yield* anonymous.ops.healthz()).data.status, "ok")
          })
        )
      }
    }
  )
})

layer(TestService.layer({ requestTimeout: "3 seconds" }), { excludeTestServices: true })(
  "slow clients (issue 15, case 8): a request that arrives too slowly is a 408 envelope",
  (it) => {
    it.effect("headers trickled a line a second", () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        const lines = Array.from({ length: 30 }, (_, i) => `x-slow-${i}: y\r\n`)
        const response = yield* exchange(origin, "GET /healthz HTTP/1.1\r\nhost: x\r\n", { trickle: lines })
        expectEnvelope(response, 408, codeOf("RequestTimeout"))
      })
    )

    it.effect("a batch body trickled a byte a second is cut off, and nothing of it is stored", () =>
      Effect.gen(function* () {
        const { origin } = yield* TestService.TestService
        const body = '{"records":[{"key":"trickled"}]}'
        const head = requestText("POST", "/public/v1/records/counters/append-batch", {
          ...json,
          "content-length": String(body.length)
        })
        const response = yield* exchange(origin, head, { trickle: body.split("") })
        expectEnvelope(response, 408, codeOf("RequestTimeout"))
        assert.include(response.body, "3 s")
        assert.deepStrictEqual(yield* countersRows, [])
      })
    )
  }
)
