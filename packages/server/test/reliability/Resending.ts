/**
 * A client of the reliability tests that does what a careful user does: sends a batch with its `Idempotency-Key`,
 * and on a `503` or a `409` (storage down, admission refused, the key still in flight) waits the answer's
 * `Retry-After` and sends it again with the same key, until it is accepted.
 */
import { assert } from "@effect/vitest"
import type { ServeProcess } from "../support/ServeProcess.js"
import type { Batch } from "../process/Workload.js"

/** How one batch got accepted: the job, and the refusals met on the way (status and `Retry-After`). */
export interface Delivery {
  readonly jobId: string
  readonly refusals: ReadonlyArray<{ readonly status: number; readonly retryAfter: number; readonly code: string }>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Sends `batch` until it is answered `202`, following `Retry-After` on `503` and `409`, and retrying a dropped
 * connection after 200 ms; fails the test on any other answer, or when `deadline` (epoch ms) passes.
 */
export const deliver = async (server: ServeProcess, batch: Batch, deadline: number): Promise<Delivery> => {
  const refusals: Array<{ status: number; retryAfter: number; code: string }> = []
  while (true) {
    assert.isBelow(
      Date.now(),
      deadline,
      `batch ${batch.key} was not accepted in time; refusals ${JSON.stringify(refusals.slice(-5))}`
    )
    let response: Response
    try {
      response = await server.fetch(`/public/v1/records/${batch.object}/${batch.operation}`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": batch.key },
        body: batch.body,
        signal: AbortSignal.timeout(60_000)
      })
    } catch {
      await sleep(200)
      continue
    }
    const text = await response.text()
    if (response.status === 202) return { jobId: JSON.parse(text).data.jobId as string, refusals }
    assert.include([503, 409], response.status, `batch ${batch.key}: ${text.slice(0, 300)}`)
    const retryAfter = Number(response.headers.get("retry-after"))
    assert.isTrue(Number.isInteger(retryAfter) && retryAfter >= 1, `a ${response.status} without Retry-After: ${text}`)
    refusals.push({ status: response.status, retryAfter, code: JSON.parse(text).error.code as string })
    await sleep(retryAfter * 1_000)
  }
}

/** `GET /readyz`: its status and body. */
export const readiness = async (server: ServeProcess) => {
  const response = await server.fetch("/readyz", { signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: JSON.parse(await response.text()) as Record<string, unknown> }
}
