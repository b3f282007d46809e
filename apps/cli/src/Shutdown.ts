/**
 * The exit code of a command stopped by SIGINT or SIGTERM: 130 by default (the work did not finish), 0 for a
 * command whose normal end is a signal (`serve`, which shuts down gracefully, SPEC §1.10).
 */

let codeOnSignal = 130

/** The exit code to use when the command was interrupted by a signal. */
export const exitCodeOnSignal = (): number => codeOnSignal

/** Declares that a signal is the normal, successful end of the running command. */
export const signalEndsSuccessfully = (): void => {
  codeOnSignal = 0
}
