/**
 * The errors a `batchwrite` command ends with, and the exit code each one maps to (SPEC §4: 1 a failure of the
 * work, 2 bad usage).
 */
import { Data } from "effect"

/** The command was used wrongly: a bad flag, a missing or unreadable file, input that is not what it must be. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The work itself failed: an unreachable server, a rejected request, a failed job. */
export class WorkError extends Data.TaggedError("WorkError")<{ readonly message: string }> {}

/** Anything a command can fail with. */
export type CliError = UsageError | WorkError

/** The process exit code for an error. */
export const exitCodeOf = (error: CliError): 1 | 2 => (error._tag === "UsageError" ? 2 : 1)
