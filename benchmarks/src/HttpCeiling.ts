/**
 * The HTTP ceiling: a bare `node:http` server in its own process that reads each body to the end and answers a
 * small `202` JSON, and nothing else. The same bodies and the same autocannon settings as the service's rows show
 * what HTTP on this machine allows before the service does any work.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { freePort, sleep } from "@batchwrite/server/testing/ServeProcess"

const program = `
const http = require("node:http")
const answer = Buffer.from('{"success":true,"data":{"jobId":"rjob_ceiling","state":"queued"}}')
http.createServer((request, response) => {
  let bytes = 0
  request.on("data", (chunk) => { bytes += chunk.length })
  request.on("end", () => {
    response.writeHead(202, { "content-type": "application/json", "content-length": answer.length })
    response.end(answer)
  })
}).listen(Number(process.argv[1]), "127.0.0.1")
`

/** A running bare server. */
export interface BareServer {
  readonly origin: string
  readonly stop: () => Promise<void>
}

/** Starts the bare server and resolves once it answers. */
export const startBareServer = async (): Promise<BareServer> => {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ["-e", program, String(port)], { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  process.once("exit", () => child.kill("SIGKILL"))
  const origin = `http://127.0.0.1:${port}`
  const stop = async () => {
    child.kill("SIGTERM")
    await exited
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const response = await fetch(origin, { method: "POST", body: "{}" })
      await response.arrayBuffer()
      return { origin, stop }
    } catch {
      await sleep(25)
    }
  }
  await stop()
  throw new Error("the bare node:http server did not start")
}
