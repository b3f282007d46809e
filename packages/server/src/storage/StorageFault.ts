/** Telling a failure of the database (unreachable, full disk, a killed connection) from other failures. */
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Option } from "effect"

/** Whether the cause holds an error of the database, as a failure or as a defect (repositories `orDie` them). */
export const isStorageFault = (cause: Cause.Cause<unknown>): boolean =>
  Cause.reduce(cause, false, (found, part) =>
    found ||
    (part._tag === "Fail" && part.error instanceof SqlError) ||
    (part._tag === "Die" && part.defect instanceof SqlError)
      ? Option.some(true)
      : Option.none()
  )
