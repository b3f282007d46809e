/**
 * The synchronous baseline's service, run as its own process by `SyncBaseline.ts`: a minimal `node:http` server
 * that parses each batch request, writes its records in one transaction (`DirectWriter`: one multi-row statement
 * per batch on PostgreSQL, per 500 records on SQLite) and answers `200` after the commit: what a user would
 * otherwise put in front of the database. `POST /reset` empties its tables.
 *
 * Arguments: the port, the database (`sqlite:<file>` or a `postgres://` URL) and the PostgreSQL pool size.
 */
import { createServer } from "node:http"
import { type DirectOperation, type DirectWriter, type Fields, openPgWriter, openSqliteWriter } from "./DirectWriter.js"

const [port, database, poolSize] = process.argv.slice(2)
const writer: DirectWriter = database!.startsWith("sqlite:")
  ? openSqliteWriter(database!.slice("sqlite:".length))
  : openPgWriter(database!, Number(poolSize))

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
            await writer.write(operation, records)
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
