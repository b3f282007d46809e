/**
 * What the end-to-end tests of the CLI share: a real `batchwrite serve` for the test file (started before its tests,
 * stopped after), a scratch directory, and `cli(...)` running the built command against that service from there.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { afterAll, beforeAll } from "@effect/vitest"
import { type CliRun, runCli } from "./cli.js"

/** The service and the scratch directory of a test file, ready once its `beforeAll` ran. */
export interface CliSession {
  readonly server: ServeProcess
  readonly directory: string
  /** `BATCHWRITE_URL` and `BATCHWRITE_TOKEN` of the service. */
  readonly env: Record<string, string>
  /** Runs `batchwrite <args>` against the service, from the scratch directory; `env` adds or overrides variables. */
  readonly cli: (args: ReadonlyArray<string>, input?: string, env?: Record<string, string>) => Promise<CliRun>
  /** Writes a file in the scratch directory; answers its path. */
  readonly file: (name: string, content: string | Uint8Array) => string
}

/** Starts a service (and a scratch directory) for the test file, with `serve`'s `--workers`. */
export const cliSession = (workers: number): CliSession => {
  const session = {} as { server: ServeProcess; directory: string; env: Record<string, string> }
  beforeAll(async () => {
    session.server = await ServeProcess.start({ workers })
    session.directory = mkdtempSync(join(tmpdir(), "batchwrite-cli-"))
    session.env = { BATCHWRITE_URL: session.server.baseUrl, BATCHWRITE_TOKEN: session.server.token }
  }, 60_000)
  afterAll(async () => {
    await session.server?.dispose()
    if (session.directory !== undefined) rmSync(session.directory, { recursive: true, force: true })
  })
  return {
    get server() {
      return session.server
    },
    get directory() {
      return session.directory
    },
    get env() {
      return session.env
    },
    cli: (args, input, env = {}) => runCli(args, { env: { ...session.env, ...env }, input, cwd: session.directory }),
    file: (name, content) => {
      const path = join(session.directory, name)
      writeFileSync(path, content)
      return path
    }
  }
}
