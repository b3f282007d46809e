/** Timestamps as stored (epoch milliseconds, a number or a numeric string by driver) and as the API shows them. */

/** The ISO 8601 text of a stored timestamp. */
export const isoTime = (millis: unknown): string => new Date(Number(millis)).toISOString()
