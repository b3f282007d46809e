/**
 * Reading the JSON of a request without altering its numbers silently. Values are stored as JSON written from
 * JavaScript numbers (doubles), so a number a double cannot hold (`1` followed by 99 digits, `0.1000000000000000000001`,
 * `1e400`) would be stored as another number (`1.111…e+99`, `0.1`, `null`). {@link parse} reads text as `JSON.parse`
 * does, except that such a number stays a `JsonNumber` with its written form, which validation refuses as a row
 * error (`RecordValidation`): the sender learns which value to send as a string instead.
 *
 * Exact means the number written back (`JSON.stringify`) denotes the same decimal value: `1.0`, `1e2` and `0.1`
 * are exact (`1`, `100`, `0.1`); `-0` counts as `0`. The check costs nothing for bodies with no run of 16 digits
 * and no three-digit exponent, the only ways to write an inexact number.
 */
import { Either } from "effect"
import type { JsonNumber } from "./Json.js"
import * as LosslessJson from "./LosslessJson.js"

/** A decimal value as sign, significant digits (no leading or trailing zeros) and exponent; zero is `"0"`. */
const canonicalDecimal = (text: string): string => {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (match === null) return text
  const [, sign, whole = "", fraction = "", exponent = "0"] = match
  const digits = `${whole}${fraction}`.replace(/^0+/, "")
  if (digits === "") return "0"
  const significant = digits.replace(/0+$/, "")
  const scale = Number(exponent) - fraction.length + (digits.length - significant.length)
  return `${sign}${significant}e${scale}`
}

/** Whether a JSON number literal is held exactly by the double `JSON.parse` gives for it. */
export const isExactNumberText = (text: string): boolean => {
  const value = Number(text)
  if (!Number.isFinite(value)) return false
  // Most numbers sent are written as JavaScript writes them (the shortest text of their double): exact at a glance.
  const written = String(value)
  return written === text || canonicalDecimal(written) === canonicalDecimal(text)
}

/**
 * The only texts that can hold an inexact number: 16 digits (a dot among them), or a three-digit exponent. Every body
 * read is searched with it ({@link suspects}), so it is written out atom by atom (`\d[\d.][\d.]…`, the same language
 * as `\d[\d.]{15}`): V8 searches a body of upserts 3–4 times faster so (2 MB: 1.1 ms against 3.6 ms; `JSON.parse`
 * takes 8 ms).
 */
const mayBeInexact = new RegExp(`\\d${"[\\d.]".repeat(15)}|[eE][+-]?\\d\\d\\d`)

const QUOTE = 0x22
const BACKSLASH = 0x5c
const isNumberChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || (c | 0x20) === 0x65

/** The offset just after the string whose opening quote is at `start`. */
const endOfString = (text: string, start: number): number => {
  let close = text.indexOf('"', start + 1)
  while (close !== -1) {
    let backslashes = 0
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return close + 1
    close = text.indexOf('"', close + 1)
  }
  return text.length
}

/** Whether valid JSON text holds a number literal (outside strings) that is not exact. */
const holdsInexactNumber = (text: string): boolean => {
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = endOfString(text, i)
    } else if (isNumberChar(c)) {
      const start = i
      let exponent = false
      for (let n = c; isNumberChar(n); n = text.charCodeAt(++i)) exponent ||= (n | 0x20) === 0x65
      // Only 16 characters or more, or an exponent, can make an inexact number.
      if (i - start < 16 && !exponent) continue
      const literal = text.slice(start, i)
      if (mayBeInexact.test(literal) && !isExactNumberText(literal)) return true
    } else {
      i++
    }
  }
  return false
}

/** {@link mayBeInexact}, to find each place it matches. */
const suspects = new RegExp(mayBeInexact.source, "g")

/**
 * Whether each run of number characters in which {@link mayBeInexact} matches is an exact number, strings included:
 * when it is, the text holds no inexact number, and {@link holdsInexactNumber}'s scan of every character is not
 * needed. (A run in a string that is not an exact number, `"type123"` say, leaves the answer to that scan.) Most
 * bodies hold no such run, and most that do hold decimals written by JavaScript, which are exact: this finds them
 * with the regular expression and looks only at their characters.
 */
const everySuspectExact = (text: string): boolean => {
  suspects.lastIndex = 0
  for (let found = suspects.exec(text); found !== null; found = suspects.exec(text)) {
    let start = found.index
    while (start > 0 && isNumberChar(text.charCodeAt(start - 1))) start--
    let end = suspects.lastIndex
    while (end < text.length && isNumberChar(text.charCodeAt(end))) end++
    if (!isExactNumberText(text.slice(start, end))) return false
    suspects.lastIndex = end
  }
  return true
}

/**
 * Reads JSON text as `JSON.parse` does (and throws what it throws), except that each number a double cannot hold
 * exactly is a `JsonNumber` keeping its written form.
 */
export const parse = (text: string): unknown => {
  const value: unknown = JSON.parse(text)
  if (everySuspectExact(text) || !holdsInexactNumber(text)) return value
  return Either.match(LosslessJson.parse(text), {
    onLeft: () => value,
    onRight: (json) => LosslessJson.toPlain(json, (number: JsonNumber) => !isExactNumberText(number.text))
  })
}
