/**
 * Idempotency keys compatible with the hosted API's Python recipes (SPEC §5): a key per batch from its content,
 * and a key per queue batch from its message ids. Both are an MD5 digest written as a UUID.
 */
import { compareCodePoints, stringify } from "./CanonicalJson.js"
import type { Json } from "./Json.js"
import { md5Hex } from "./Md5.js"

/**
 * The idempotency key of a batch of records, equal to Python's
 * `str(uuid.UUID(hashlib.md5(json.dumps(records, sort_keys=True, ensure_ascii=True).encode()).hexdigest()))`.
 * Records read with `LosslessJson.parse` give the key Python gives for `json.load` of the same text; for records
 * built in code, see `CanonicalJson.stringify` for how JS numbers are written.
 */
export const batchIdempotencyKey = (records: ReadonlyArray<Json | unknown>): string =>
  uuidOfHex(md5Hex(stringify(records)))

/**
 * The idempotency key of a queue batch, equal to Python's
 * `str(uuid.UUID(hashlib.md5(":".join(sorted(message_ids)).encode()).hexdigest()))`: ids sorted by code point,
 * joined with `:`, hashed as UTF-8. (Python cannot encode an id holding a lone surrogate; here it counts as U+FFFD.)
 */
export const queueBatchKey = (messageIds: ReadonlyArray<string>): string =>
  uuidOfHex(md5Hex([...messageIds].sort(compareCodePoints).join(":")))

/** 32 hex digits as a UUID string, 8-4-4-4-12. */
const uuidOfHex = (hex: string): string =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
