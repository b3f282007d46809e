/**
 * How a long-run check ends: its failed checks printed (or `ok`), the service stopped gracefully and removed, and the
 * process's exit code: 0 when every check held, 1 when one failed, 2 when the run itself crashed.
 */
import type { ServeProcess } from "@batchwrite/server/testing/ServeProcess"

/**
 * Prints the verdict of `checks` (each the message of a failed check, or `""` when it held) and answers the exit
 * code: `FAILED:` and each failure on a line of its own, or `ok`.
 */
export const verdict = (checks: ReadonlyArray<string>, ok: string): number => {
  const failures = checks.filter((check) => check !== "")
  if (failures.length === 0) {
    console.log(ok)
    return 0
  }
  console.log(`FAILED:\n  ${failures.join("\n  ")}`)
  return 1
}

/** Runs `check` against `server`, then stops it gracefully and removes it (also when `check` throws). */
export const withServer = async (server: ServeProcess, check: () => Promise<number>): Promise<number> => {
  try {
    const exitCode = await check()
    await server.stop(60_000)
    return exitCode
  } finally {
    await server.dispose()
  }
}

/** Runs `main` and exits with its code; 2 with the error printed when it throws. */
export const runMain = (main: () => Promise<number>): void => {
  main().then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      console.error(error)
      process.exit(2)
    }
  )
}
