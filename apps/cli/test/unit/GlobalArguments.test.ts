import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { hoistGlobalOptions, subcommandOf } from "../../src/GlobalArguments.js"

const commands: ReadonlyArray<ReadonlyArray<string>> = [
  ["append", "events"],
  ["append", "events", "events.ndjson"],
  ["upsert", "profiles", "--match-key", "email"],
  ["upsert", "profiles", "--match-key", "email", "-"],
  ["objects", "put", "products"],
  ["objects", "list"],
  ["jobs", "get", "events", "rjob_1"],
  ["records", "list", "events", "--limit", "5"],
  ["key"],
  ["serve", "--port", "8787"]
]

const globals: ReadonlyArray<ReadonlyArray<string>> = [
  ["--url", "http://127.0.0.1:9/public/v1"],
  ["--token", "secret"],
  ["--json"],
  ["--log-level", "warning"]
]

describe("hoistGlobalOptions", () => {
  it("moves a global option from any position of any command to the front, the rest in order", () => {
    for (const command of commands) {
      for (const option of globals) {
        for (let position = 0; position <= command.length; position++) {
          const argv = ["node", "bin.js", ...command.slice(0, position), ...option, ...command.slice(position)]
          assert.deepStrictEqual(hoistGlobalOptions(argv), ["node", "bin.js", ...option, ...command], argv.join(" "))
        }
      }
    }
  })

  it("--name=value is --name value, --log-level goes first, and nothing after -- moves", () => {
    assert.deepStrictEqual(
      hoistGlobalOptions(["node", "b", "key", "--json", "--url=http://x", "--log-level=info", "--", "--token", "t"]),
      ["node", "b", "--log-level", "info", "--json", "--url", "http://x", "key", "--", "--token", "t"]
    )
  })

  it("keeps every argument exactly once", () => {
    const word = fc.constantFrom(
      "append",
      "events",
      "-",
      "f.csv",
      "--json",
      "--url",
      "--token",
      "--log-level",
      "x",
      "--"
    )
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), (args) => {
        const hoisted = hoistGlobalOptions(["node", "b", ...args]).slice(2)
        assert.deepStrictEqual([...hoisted].sort(), [...args].sort())
      })
    )
  })
})

describe("subcommandOf", () => {
  it("is the first word once the global options and their values are set aside, wherever they stand", () => {
    for (const command of commands) {
      for (const option of globals) {
        const argv = ["node", "bin.js", ...option, ...command]
        assert.strictEqual(subcommandOf(argv), command[0], argv.join(" "))
      }
    }
    assert.strictEqual(subcommandOf(["node", "bin.js", "--url", "bench", "append", "events"]), "append")
    assert.isUndefined(subcommandOf(["node", "bin.js", "--json"]))
  })
})
