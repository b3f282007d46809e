/**
 * Where each record of an input file starts: the line of NDJSON or CSV a parser read it from, so that a rejected
 * row can be named by the line a person finds it at (blank lines and multi-line CSV values make that differ from
 * its position). Kept compactly: only the records where the line stops following the position are stored.
 */
export class RecordLines {
  /** Input indexes where `line - index` changes, and the line of each. */
  private readonly indexes: Array<number> = []
  private readonly lines: Array<number> = []
  private count = 0

  /** The next record of the input starts on `line` (from 1). */
  record(line: number): void {
    const index = this.count++
    const last = this.indexes.length - 1
    if (last >= 0 && this.lines[last]! + (index - this.indexes[last]!) === line) return
    this.indexes.push(index)
    this.lines.push(line)
  }

  /** The line the record at input index `index` starts on, if the parser told it. */
  lineOf(index: number): number | undefined {
    if (index >= this.count) return undefined
    let low = 0
    let high = this.indexes.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (this.indexes[middle]! <= index) low = middle
      else high = middle - 1
    }
    return this.lines[low]! + (index - this.indexes[low]!)
  }
}
