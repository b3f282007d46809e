/**
 * The commands around `append`/`upsert`, and the errors of every command, as a user meets them: the built CLI as
 * a process against a real `serve`. Each error is one line on stderr that says what to do, with the exit code of
 * SPEC §4 (1 a failure of the work, 2 bad usage); `--json` prints JSON on stdout for every command.
 */
import { freePort, ServeProcess } from "@batchwrite/server/testing/ServeProcess"
import { assert, describe, it } from "@effect/vitest"
import { type CliRun, runCli } from "./cli.js"
import { cliSession } from "./CliSession.js"

const session = cliSession(1)
const { cli, file } = session

/** One line on stderr matching `message`, nothing on stdout, and the exit code. */
const expectError = (run: CliRun, status: 1 | 2, message: RegExp) => {
  assert.strictEqual(run.status, status, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  assert.match(run.stderr, message)
  assert.strictEqual(run.stderr.trim().split("\n").length, 1, `one line: ${run.stderr}`)
  assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
  assert.strictEqual(run.stdout, "")
}

const records = `${JSON.stringify({ event: "a", occurred_at: "2026-01-01T00:00:00Z" })}\n`

describe("errors for people", () => {
  it("an unreachable server: exit 1 within seconds, saying how to start one", async () => {
    const url = `http://127.0.0.1:${await freePort()}/public/v1`
    const started = Date.now()
    const run = await cli(["append", "events", file("one.ndjson", records)], undefined, { BATCHWRITE_URL: url })
    expectError(
      run,
      1,
      /cannot reach the service at http:\/\/127\.0\.0\.1:\d+\/public\/v1 \(connection refused\).*batchwrite serve/
    )
    assert.include(run.stderr, url)
    assert.isBelow(Date.now() - started, 15_000)
  })

  it("a wrong token: exit 1, check --token", async () =>
    expectError(
      await cli(["objects", "list", "--token", "wrong"]),
      1,
      /refused the token \(401\).*--token or BATCHWRITE_TOKEN/
    ))

  it("no token at all: exit 2", async () =>
    expectError(await cli(["objects", "list"], undefined, { BATCHWRITE_TOKEN: "" }), 2, /no API token: pass --token/))

  it("an unknown object: exit 1, how to list or create objects", async () =>
    expectError(
      await cli(["append", "nosuch", file("two.ndjson", records)]),
      1,
      /object 'nosuch' does not exist: see `batchwrite objects list`/
    ))

  it("a missing file: exit 2, before anything is sent", async () =>
    expectError(await cli(["append", "events", "missing.ndjson"]), 2, /file not found: missing\.ndjson/))

  it("a file that is not UTF-8: exit 2", async () =>
    expectError(
      await cli(["append", "events", file("latin1.ndjson", Buffer.from([0x7b, 0xe9, 0x7d, 0x0a]))]),
      2,
      /not valid UTF-8/
    ))

  it("a JSON file that is not an array or NDJSON: exit 2", async () =>
    expectError(await cli(["append", "events", file("bad.json", "[1, 2")]), 2, /the array ends without its closing/))

  it("a CSV column that is not a field: exit 2, naming the fields", async () =>
    expectError(
      await cli(["append", "events", file("bad.csv", "event,colour\na,red\n")]),
      2,
      /column 'colour' of the header is not a field of 'events' \(its fields: session_id, event/
    ))

  it("bad flags: exit 2", async () => {
    const unknownFlag = await cli(["append", "events", "--bogus"])
    assert.strictEqual(unknownFlag.status, 2)
    assert.match(unknownFlag.stderr, /--bogus/)
    assert.notInclude(unknownFlag.stderr, "\u001b[", "no terminal styling on a piped standard error")
    expectError(
      await cli(["append", "events", "-", "--concurrency", "0"], records),
      2,
      /--concurrency must be at least 1/
    )
    expectError(
      await cli(["upsert", "profiles", "--match-key", "tier", "-"], records),
      2,
      /--match-key 'tier' is not a match key of 'profiles' \(its match keys: email, external_id\)/
    )
    expectError(await cli(["append", "events", "-", "--resume"], records), 2, /--resume needs a file/)
    expectError(await cli(["records", "list", "events", "--limit", "0"]), 2, /--limit must be between 1 and 1000/)
    expectError(await cli(["objects", "list", "--url", "ftp://x"]), 2, /--url must be an http\(s\) URL/)
  })

  it("a misspelled flag: exit 2 before anything runs, naming it and the flag it is closest to", async () => {
    // Without the check, @effect/cli would take `--dead-leter` for the file and the file for an extra argument.
    expectError(
      await cli(["append", "events", "--dead-leter", "x.ndjson"], records),
      2,
      /unknown option --dead-leter for batchwrite append: did you mean --dead-letter\?/
    )
    expectError(
      await cli(["upsert", "profiles", "--match-kye", "email", "-"], records),
      2,
      /unknown option --match-kye for batchwrite upsert: did you mean --match-key\?/
    )
    expectError(
      await cli(["records", "list", "events", "--limt=5"]),
      2,
      /unknown option --limt for batchwrite records list: did you mean --limit\?/
    )
    // The global options are flags of every command.
    expectError(
      await cli(["jobs", "get", "events", "rjob_x", "--jsn"]),
      2,
      /unknown option --jsn .*did you mean --json\?/
    )
    expectError(
      await cli(["key", "--frobnicate"], "[]"),
      2,
      /^batchwrite: unknown option --frobnicate for batchwrite key \(see/
    )
    const spelled = await cli(["append", "events", "--dead-letter", "spelled-rejects.ndjson", "-"], records)
    assert.strictEqual(spelled.status, 0, spelled.stderr)
    assert.match(spelled.stdout, /1 records? (sent|inserted|written)/)
    const afterDashes = await cli(["append", "events", "--", "--dead-leter"])
    assert.strictEqual(afterDashes.status, 2)
    assert.notInclude(afterDashes.stderr, "did you mean", "nothing after -- is a flag")
  })

  it("records list --where on a field that is not a match key: exit 2, naming the fields that filter", async () => {
    expectError(
      await cli(["records", "list", "profiles", "--where", "tier=gold"]),
      2,
      /--where tier: only match keys filter rows \(the match keys of 'profiles': email, external_id\)/
    )
    expectError(await cli(["records", "list", "events", "--where", "event=a"]), 2, /'events' has no match keys/)
  })

  it("an unknown job: exit 1", async () =>
    expectError(
      await cli(["jobs", "get", "events", "rjob_nope"]),
      1,
      /job rjob_nope of object 'events' does not exist/
    ))

  it("an invalid object schema: exit 2, saying which part", async () =>
    expectError(
      await cli(["objects", "put", "things", "-"], '{"fields": {"x": {"type": "text"}}}'),
      2,
      /not an object schema: fields\.x\.type: type must be one of string/
    ))
})

describe("global options anywhere on the line", () => {
  it("after a command whose file is left out (standard input), and after the positional arguments", async () => {
    const { BATCHWRITE_URL: url, BATCHWRITE_TOKEN: token } = session.env
    const none = { BATCHWRITE_URL: "http://127.0.0.1:9/public/v1", BATCHWRITE_TOKEN: "" }
    const appended = await cli(["append", "events", "--url", url!, "--token", token!, "--json"], records, none)
    assert.strictEqual(appended.status, 0, appended.stderr)
    assert.strictEqual(JSON.parse(appended.stdout).records.inserted, 1)
    const listed = await cli(["objects", "list", "--url", url!, "--token", token!], undefined, none)
    assert.strictEqual(listed.status, 0, listed.stderr)
    const key = await cli(["key", "--json"], "[]")
    assert.deepStrictEqual(JSON.parse(key.stdout), { key: "d7517139-8898-7e93-3198-0363e24189ce" })
  })

  it("a missing argument is named as missing, not the global option's value", async () => {
    const run = await cli(["jobs", "get", "rjob_nope", "--url", session.env.BATCHWRITE_URL!])
    assert.strictEqual(run.status, 2)
    assert.notInclude(run.stderr, "unknown argument")
  })
})

describe("--json on every command", () => {
  const json = (run: CliRun): unknown => {
    assert.strictEqual(run.status, 0, run.stderr)
    return JSON.parse(run.stdout)
  }

  it("objects, records, jobs and key print JSON", async () => {
    const objects = json(await cli(["objects", "list", "--json"])) as { objects: Array<{ name: string }> }
    assert.deepStrictEqual(objects.objects.map((object) => object.name).sort(), ["events", "profiles"])
    assert.deepStrictEqual(
      (json(await cli(["--json", "objects", "get", "profiles"])) as { matchKeys: Array<string> }).matchKeys,
      ["email", "external_id"]
    )

    const rows = [
      { email: "ada@example.com", tier: "gold" },
      { email: "bob@example.com", tier: "x".repeat(3) },
      { email: "not an email" }
    ]
    const write = json(
      await cli(["upsert", "profiles", "--match-key", "email", "-", "--json"], JSON.stringify(rows))
    ) as {
      jobIds: Array<string>
      records: { invalid: number }
    }
    assert.strictEqual(write.records.invalid, 1)

    const job = json(await cli(["jobs", "get", "profiles", write.jobIds[0]!, "--json"])) as {
      metrics: { insertedRows: number }
    }
    assert.strictEqual(job.metrics.insertedRows, 2)
    const errors = await cli(["jobs", "errors", "profiles", write.jobIds[0]!, "--json"])
    const lines = errors.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { index: number; field: string })
    assert.deepStrictEqual(
      lines.map((line) => [line.index, line.field]),
      [[2, "email"]]
    )

    const page = json(await cli(["records", "list", "profiles", "--where", "email=ada@example.com", "--json"])) as {
      records: Array<{ tier: string }>
      nextCursor: string | null
    }
    assert.deepStrictEqual([page.records.map((row) => row.tier), page.nextCursor], [["gold"], null])

    assert.deepStrictEqual(json(await cli(["key", "-", "--json"], "[]")), {
      key: "d7517139-8898-7e93-3198-0363e24189ce"
    })
  })

  it("people get text: a job, a page of records and what to add for the next page", async () => {
    for (let i = 0; i < 3; i++) {
      await cli(
        ["append", "events", "-"],
        JSON.stringify([{ event: `page-${i}`, occurred_at: "2026-01-01T00:00:00Z" }])
      )
    }
    const page = await cli(["records", "list", "events", "--limit", "2"])
    assert.strictEqual(page.status, 0, page.stderr)
    assert.strictEqual(page.stdout.trim().split("\n").length, 2)
    assert.match(page.stderr, /more rows: add --cursor \S+ \(or --all for every row\)/)
  })
})

describe("serve --json", () => {
  it("logs one JSON object per request", async () => {
    const node = await ServeProcess.start({ args: ["--json"], workers: 1 })
    try {
      const run = await runCli(["objects", "list"], {
        env: { BATCHWRITE_URL: node.baseUrl, BATCHWRITE_TOKEN: node.token }
      })
      assert.strictEqual(run.status, 0, run.stderr)
      for (let waited = 0; !node.stdout.includes("/public/v1/objects") && waited < 5_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const lines = node.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>)
      const request = lines.find((line) => line.path === "/public/v1/objects")!
      assert.deepInclude(request, { method: "GET", status: 200, records: null })
      assert.isNumber(request.ms)
      assert.notInclude(node.stdout, node.token)
    } finally {
      await node.dispose()
    }
  })
})

describe("help and completions", () => {
  it("--help of every command: fits 100 columns, has an example and only what is particular to the command", async () => {
    // @effect/cli's generic lines, which say nothing about the command.
    const fillers = [
      "A user-defined piece of text",
      "An integer.",
      "A floating point number.",
      "A true or false value.",
      "A file.",
      "One of the following",
      "This setting is optional.",
      "This option can be set from environment variables."
    ]
    const groups = [[], ["jobs"], ["objects"]]
    const help = new Map<string, string>()
    for (const command of [
      ...groups,
      ["serve"],
      ["append"],
      ["upsert"],
      ["jobs", "get"],
      ["jobs", "errors"],
      ["objects", "list"],
      ["objects", "get"],
      ["objects", "put"],
      ["records", "list"],
      ["dead-letter", "replay"],
      ["key"],
      ["tokens", "new"],
      ["backup"],
      ["bench"]
    ]) {
      const name = ["batchwrite", ...command].join(" ")
      const run = await cli([...command, "--help"])
      assert.strictEqual(run.status, 0, `${name}: ${run.stderr}`)
      if (!groups.includes(command)) assert.match(run.stdout, /Example: .*batchwrite /, name)
      assert.notInclude(run.stdout, "\u001b[", `${name}: no terminal styling on a piped standard output`)
      assert.match(run.stdout, new RegExp(`^\\$ ${name}( |$)`, "m"), `${name}: its usage`)
      for (const line of run.stdout.split("\n")) {
        assert.isAtMost(line.length, 100, `${name}: ${line}`)
        for (const filler of fillers) assert.notInclude(line, filler, name)
      }
      help.set(name, run.stdout)
    }
    // Every command, nested ones too, with its summary; the options keep their descriptions and defaults.
    const top = help.get("batchwrite")!
    assert.match(top, /^ {2}jobs errors +List a job's rejected rows/m)
    assert.match(top, /^ {2}dead-letter replay +Send the records of a dead-letter file again/m)
    assert.match(
      top,
      /--url text\n\n {2}The service's API URL \(env BATCHWRITE_URL; default http:\/\/127\.0\.0\.1:8787/
    )
    assert.match(help.get("batchwrite jobs")!, /^ {2}get +Show a job: its state and counts$/m)
    assert.match(
      help.get("batchwrite serve")!,
      /--port integer\n\n {2}Port to listen on \(default 8787; env BATCHWRITE_PORT\)\n/
    )
    assert.match(
      help.get("batchwrite append")!,
      /--dead-letter file\n\n {2}Append every rejected row, with why, to this NDJSON file/
    )
  })

  it("--completions prints a shell completion script", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const run = await cli(["--completions", shell])
      assert.strictEqual(run.status, 0, run.stderr)
      assert.match(run.stdout, /batchwrite/)
      assert.match(run.stdout, /append/)
    }
  })
})
