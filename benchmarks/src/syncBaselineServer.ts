/**
 * The synchronous baseline's service, run as its own process by `SyncBaseline.ts`: a minimal `node:http` server
 * that parses each batch request, writes its records in one transaction (`DirectWriter`: one multi-row statement
 * per batch on PostgreSQL, per 500 records on SQLite) and answers `200` after the commit: what a user would
 * otherwise put in front of the database. A batch that clashes with a concurrent one on a unique key is written again
 * (up to 5 tries). `POST /reset` empties its tables.
 *
 * Arguments: the port, the database (`sqlite:<file>` or a `postgres://` URL) and the PostgreSQL pool size.
 */
import { createServer } from "node:http"
import { type DirectOperation, type DirectWriter, type Fields, openPgWriter, openSqliteWriter } from "./DirectWriter.js"

const [port, database, poolSize] = process.argv.slice(2)
const writer: DirectWriter = database!.startsWith("sqlite:")
  ? openSqliteWriter(database!.slice("sqlite:".length))
  : openPgWriter(database!, Number(poolSize))

/**
 * PostgreSQL's `unique_violation`. Two batches in flight can write the same `external_id` in two transactions: the
 * statement's `ON CONFLICT (email)` settles a clash of `email` (it waits for the other transaction), not one of the
 * other unique key, which fails the later statement once the earlier commits.
 */
const uniqueViolation = "23505"

/** Tries of a write that failed on {@link uniqueViolation}. */
const tries = 5

/**
 * Writes a batch as a plain service would: run again after a clash on a unique key with a concurrent batch (the
 * next try finds the other batch's row committed and merges into it), answered as failed after {@link tries}.
 */
const write = async (operation: DirectOperation, records: ReadonlyArray<Fields>): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writer.write(operation, records)
    } catch (error) {
      if (attempt >= tries || (error as { readonly code?: unknown }).code !== uniqueViolation) throw error
    }
  }
}

const answer = (response: import("node:http").ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

const server = createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    const url = request.url ?? ""
    const operation: DirectOperation | "reset" | undefined =
      url === "/reset"
        ? "reset"
        : url.endsWith("/append-batch")
          ? "append-batch"
          : url.endsWith("/upsert-batch")
            ? "upsert-batch"
            : undefined
    if (operation === undefined) return answer(response, 404, { success: false, error: { message: url } })
    const work =
      operation === "reset"
        ? writer.reset().then(() => 0)
        : (async () => {
            const { records } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              records: ReadonlyArray<Fields>
            }
            await write(operation, records)
            return records.length
          })()
    work.then(
      (committedRecords) => answer(response, 200, { success: true, data: { committedRecords } }),
      (error: unknown) => answer(response, 500, { success: false, error: { message: String(error) } })
    )
  })
})

server.listen(Number(port), "127.0.0.1")
process.once("SIGTERM", () => {
  server.close()
  void writer.close().finally(() => process.exit(0))
})
