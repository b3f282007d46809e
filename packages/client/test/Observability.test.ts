/**
 * Spans and metrics: with a recording tracer, `write` and a `RecordBuffer` leave spans for the write, each batch
 * sent, each job awaited and each flush, with the object, mode, record count and job id as attributes.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Metric, Tracer } from "effect"
import * as ClientMetrics from "../src/ClientMetrics.js"
import { DeadLetter } from "../src/DeadLetter.js"
import * as RecordBuffer from "../src/RecordBuffer.js"
import { RecordsClient } from "../src/RecordsClient.js"
import { clientLayer } from "./support/RealService.js"

interface Recorded {
  readonly name: string
  readonly attributes: Map<string, unknown>
}

/** A tracer that keeps every span it ends. */
const recordingTracer = (spans: Array<Recorded>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: Math.random().toString(16).slice(2),
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          ;(span as { status: Tracer.SpanStatus }).status = { _tag: "Ended", startTime, endTime, exit }
          spans.push({ name, attributes })
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

layer(Layer.merge(clientLayer(), DeadLetter.memory), { excludeTestServices: true, timeout: 40_000 })(
  "observability",
  (it) => {
    it.effect("write and a RecordBuffer leave spans with object, mode, records and job id; metrics count", () =>
      Effect.gen(function* () {
        const spans: Array<Recorded> = []
        const client = yield* RecordsClient
        const acceptedBefore = yield* Metric.value(ClientMetrics.recordsAccepted)
        const events = Array.from({ length: 3 }, (_, i) => ({
          event: `traced-${i}`,
          occurred_at: "2026-04-21T15:00:00Z"
        }))
        yield* client.write("events", events, { mode: "append" }).pipe(Effect.withTracer(recordingTracer(spans)))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const buffer = yield* RecordBuffer.make("events", { mode: "append", maxAge: "1 hour" })
            yield* buffer.offerAll(events)
            yield* buffer.flush
          })
        ).pipe(Effect.withTracer(recordingTracer(spans)))
        const named = (name: string) => spans.filter((span) => span.name === name)
        const write = named("batchwrite.write")[0]!
        assert.strictEqual(write.attributes.get("batchwrite.object"), "events")
        assert.strictEqual(write.attributes.get("batchwrite.mode"), "append")
        assert.strictEqual(write.attributes.get("batchwrite.records"), 3)
        const sends = named("batchwrite.sendBatch")
        assert.strictEqual(sends.length, 2)
        for (const send of sends) {
          assert.strictEqual(send.attributes.get("batchwrite.records"), 3)
          assert.match(String(send.attributes.get("batchwrite.job_id")), /^rjob_/)
        }
        const awaits = named("batchwrite.awaitJob")
        assert.strictEqual(awaits.length, 2)
        assert.match(String(awaits[0]!.attributes.get("batchwrite.job_id")), /^rjob_/)
        assert.isAtLeast(named("RecordBuffer.flush").length, 1)
        assert.strictEqual(named("RecordBuffer.close").length, 1)
        const acceptedAfter = yield* Metric.value(ClientMetrics.recordsAccepted)
        assert.isAtLeast(acceptedAfter.count - acceptedBefore.count, 3)
      })
    )
  }
)
