/**
 * The default limits of the batchwrite API, in one place. Each is a default that configuration may change unless
 * its comment says it is fixed.
 */

/** Most records one batch may carry (SPEC §1.3). */
export const maxRecordsPerBatch = 10_000

/** Largest request body in bytes, measured after any `Content-Encoding: gzip` is undone (10 MiB, SPEC §1.5). */
export const maxBodyBytes = 10_485_760

/** How many row errors a job carries inline in `errors`; the rest are paged through `errorsPath` (SPEC §1.6). */
export const maxRowErrorsInline = 100

/** Default `maxLength` of a `string` field, counted in Unicode code points (SPEC §1.1). */
export const defaultStringMaxLength = 65_535

/**
 * Longest value of a `string` field that is a match key, in Unicode code points: match-key values are indexed, and
 * an index entry has a size limit (PostgreSQL's b-tree refuses entries over about 2.7 kB; 512 characters are at most
 * 2 kB in UTF-8). A longer value is a row error. Fixed.
 */
export const maxMatchKeyLength = 512

/** Longest accepted `email` value, in UTF-16 code units (equal to characters for ASCII addresses). Fixed. */
export const maxEmailLength = 254

/** Deepest nesting of a `json` field value: a scalar has depth 0, an array or object one more than its deepest member. */
export const maxJsonDepth = 32

/** Most fields one object schema may declare. */
export const maxFieldsPerObject = 1_000

/** Default `limit` of a page of stored records or job errors (SPEC §1.9). */
export const defaultPageLimit = 100

/** Largest `limit` of a page of stored records or job errors (SPEC §1.9). */
export const maxPageLimit = 1_000

/** Longest `Prefer: wait=N` the service honours, in seconds (SPEC §1.5). */
export const maxWaitSeconds = 30
