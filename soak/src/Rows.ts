/**
 * Reading what a `serve` process stored, and waiting for its queue: every row of an object streamed as NDJSON (one
 * line at a time, never the whole text), and the queue depth of `/metrics`.
 */
import { get } from "node:http"
import { send, sleep } from "./Http.js"

/** Calls `onLine` with each line of `GET /public/v1/records/<object>` as NDJSON; resolves with the line count. */
export const streamRows = (origin: string, token: string, object: string, onLine: (line: string) => void) =>
  new Promise<number>((resolve, reject) => {
    const request = get(
      new URL(`/public/v1/records/${object}`, origin),
      { headers: { authorization: `Bearer ${token}`, accept: "application/x-ndjson" } },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET records of ${object}: ${response.statusCode}`))
          response.resume()
          return
        }
        let rest = ""
        let lines = 0
        response.setEncoding("utf8")
        response.on("data", (text: string) => {
          const parts = (rest + text).split("\n")
          rest = parts.pop()!
          for (const line of parts) {
            if (line.length === 0) continue
            lines++
            onLine(line)
          }
        })
        response.on("end", () => {
          if (rest.length > 0) {
            lines++
            onLine(rest)
          }
          resolve(lines)
        })
        response.on("error", reject)
      }
    )
    request.on("error", reject)
  })

/** The queue depth of `/metrics` (jobs queued and processing), and the size of the `/metrics` text in bytes. */
export const readMetrics = async (origin: string, token: string) => {
  const answer = await send(origin, token, { method: "GET", path: "/metrics", timeoutMs: 30_000 })
  const depth = (state: string) =>
    Number(new RegExp(`^batchwrite_queue_depth\\{state="${state}"\\} (\\d+)`, "m").exec(answer.text)?.[1] ?? NaN)
  return { queued: depth("queued"), processing: depth("processing"), bytes: Buffer.byteLength(answer.text) }
}

/** Waits until no job is queued or processing; false when `timeoutMs` passes first. */
export const awaitEmptyQueue = async (origin: string, token: string, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { queued, processing } = await readMetrics(origin, token)
    if (queued === 0 && processing === 0) return true
    await sleep(500)
  }
  return false
}
