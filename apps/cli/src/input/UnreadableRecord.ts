/**
 * A record of the input that cannot be read: a line that is not JSON, a CSV row with the wrong number of values.
 * It goes through `write` like any record, in its place, and comes out dead-lettered with `reason`: `toJSON`
 * throws, so the client's splitting sets it aside as a record that is not JSON (and closes the batch before it, so
 * the batches around it are the same on every run of the same file).
 */
export class UnreadableRecord {
  constructor(
    /** The text as it was in the input. */
    readonly text: string,
    /** Why it cannot be read, with where it is: `line 7 is not JSON: …`. */
    readonly reason: string
  ) {}

  toJSON(): never {
    throw new Error(this.reason)
  }

  toString(): string {
    return this.text
  }
}
