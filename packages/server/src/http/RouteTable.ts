/**
 * The routes of the contract, read from `BatchwriteApi` (no table of its own): which route a path is, for metrics
 * labels that stay few whatever paths clients send, and which methods a path allows, for `405` with `Allow`; and
 * the one grammar of request paths, which the router is configured to read the same way.
 *
 * A path matches a route when every segment is equal or the route has a parameter there; when several routes match,
 * the one with a literal segment at the first place where they differ wins (as the router decides), so
 * `GET …/records/events/append-batch` is the batch route, which allows only `POST`, not a record read.
 *
 * Paths are read exactly (case, slashes, long parameters), and a path with a character outside letters, digits,
 * `-._~`, `/` and valid percent-encoded UTF-8 is refused before any route runs: the router (find-my-way) cuts a path
 * at `;` as if a query began there, so `/records/orders;x/append-batch` was the single-record write of `orders`.
 */
import { BatchwriteApi } from "@batchwrite/api"
import type { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Option } from "effect"

/** A route of the contract. */
export interface Route {
  /** The path template, parameters as `{name}`: `/public/v1/records/{object}/append-batch`. */
  readonly template: string
  readonly segments: ReadonlyArray<string | null>
  readonly methods: ReadonlySet<string>
}

const endpoints = Object.values(BatchwriteApi.groups as Record<string, HttpApiGroup.HttpApiGroup.AnyWithProps>).flatMap(
  (group) => Object.values(group.endpoints) as ReadonlyArray<HttpApiEndpoint.HttpApiEndpoint.AnyWithProps>
)

const routes: ReadonlyArray<Route> = (() => {
  const byTemplate = new Map<string, Set<string>>()
  for (const endpoint of endpoints) {
    const template = endpoint.path.replace(/:(\w+)/g, "{$1}")
    const methods = byTemplate.get(template) ?? new Set<string>()
    methods.add(endpoint.method)
    byTemplate.set(template, methods)
  }
  return Array.from(byTemplate, ([template, methods]) => ({
    template,
    segments: template.split("/").map((segment) => (segment.startsWith("{") ? null : segment)),
    methods
  }))
})()

const matches = (route: Route, segments: ReadonlyArray<string>): boolean =>
  route.segments.length === segments.length &&
  route.segments.every((segment, index) => (segment === null ? segments[index] !== "" : segment === segments[index]))

/** Whether `a` is more specific than `b`: a literal segment where `b` has a parameter, at the first difference. */
const moreSpecific = (a: Route, b: Route): boolean => {
  for (let index = 0; index < a.segments.length; index++) {
    const literalA = a.segments[index] !== null
    const literalB = b.segments[index] !== null
    if (literalA !== literalB) return literalA
  }
  return false
}

/** The path of a request as sent, without its query. */
export const pathOf = (request: { readonly url: string }): string => {
  const query = request.url.indexOf("?")
  return query === -1 ? request.url : request.url.slice(0, query)
}

/** The characters a path may hold as they are: RFC 3986's unreserved characters, `/`, and `%` of an escape. */
const pathCharacter = /[A-Za-z0-9\-._~/%]/

/**
 * What is wrong with a request path, if anything: a character other than letters, digits, `-._~` and `/` (a `;`
 * path parameter, a `#`, a space…), or percent-encoding that is not valid UTF-8 (`%ZZ`, `%FF`). Names and ids
 * never need more; the rest is percent-encoded.
 */
export const pathProblem = (path: string): Option.Option<string> => {
  for (let index = 0; index < path.length; index++) {
    const character = path[index]!
    if (!pathCharacter.test(character)) {
      return Option.some(
        `the path has ${JSON.stringify(character)} at character ${index + 1}: paths hold only letters, digits, '-', '.', '_', '~' and '/' (no ';' parameters); percent-encode anything else`
      )
    }
  }
  try {
    decodeURIComponent(path)
    return Option.none()
  } catch {
    return Option.some(
      "the path's percent-encoding is not valid UTF-8: '%' must start an escape like %2F of UTF-8 bytes"
    )
  }
}

/**
 * How the router reads paths: exactly as {@link matchRoute} does (case-sensitive, no trailing or doubled slashes
 * ignored), and a parameter of any length reaches its handler, which answers for an unknown name or id (the
 * router's default of 100 characters answered a route 404 for a long name).
 */
export const routerConfig = {
  caseSensitive: true,
  ignoreTrailingSlash: false,
  ignoreDuplicateSlashes: false,
  maxParamLength: Number.MAX_SAFE_INTEGER
} as const

/** The route of a path, when the contract has one. */
export const matchRoute = (path: string): Route | undefined => {
  const segments = path.split("/")
  let best: Route | undefined
  for (const route of routes) {
    if (matches(route, segments) && (best === undefined || moreSpecific(route, best))) best = route
  }
  return best
}

/** The route template of a path, `other` when no route has it: the `route` label of the request metrics. */
export const routeOf = (path: string): string => labelOf(matchRoute(path))

/** The metrics label of a matched route: its template, or `other`. */
export const labelOf = (route: Route | undefined): string => route?.template ?? "other"

/** The methods a route allows (a `GET` route also answers `HEAD`); empty when the path has no route. */
export const allowedMethods = (route: Route | undefined): ReadonlyArray<string> => {
  if (route === undefined) return []
  const methods = Array.from(route.methods)
  return route.methods.has("GET") ? [...methods, "HEAD"] : methods
}

/** Every route template of the contract. */
export const templates: ReadonlyArray<string> = routes.map((route) => route.template)
