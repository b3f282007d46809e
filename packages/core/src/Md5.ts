/**
 * MD5, for idempotency keys only (SPEC §5 fixes the algorithm; it is not used for anything secret). Backed by
 * `node:crypto`, which measured faster than a pure TypeScript MD5 on both small and large inputs.
 */
import { createHash } from "node:crypto"

/** The MD5 digest of the UTF-8 bytes of `input`, as 32 lower-case hex digits. */
export const md5Hex = (input: string): string => createHash("md5").update(input, "utf8").digest("hex")
