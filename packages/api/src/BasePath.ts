/**
 * Where the batchwrite API lives on a host: every route of SPEC §1 is under `/public/v1`, so a client of the hosted
 * API only swaps the origin.
 */

/** The base path of every `/public/v1` route. */
export const basePath = "/public/v1" as const

/**
 * The `baseUrl` to give `HttpApiClient.make(BatchwriteApi, { baseUrl })` for an API URL as users write it: the
 * contract's paths already start with `/public/v1`, so a trailing `/public/v1` (and trailing slashes) is removed.
 * `http://127.0.0.1:8787/public/v1` → `http://127.0.0.1:8787`; `https://api.example` stays as it is.
 */
export const clientBaseUrl = (apiUrl: string | URL): string => {
  const text = apiUrl.toString().replace(/\/+$/, "")
  return text.endsWith(basePath) ? text.slice(0, -basePath.length) : text
}
