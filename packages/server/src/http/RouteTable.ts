/**
 * The routes of the contract, read from `BatchwriteApi` (no table of its own): which route a path is, for metrics
 * labels that stay few whatever paths clients send, and which methods a path allows, for `405` with `Allow`.
 *
 * A path matches a route when every segment is equal or the route has a parameter there; when several routes match,
 * the one with a literal segment at the first place where they differ wins (as the router decides), so
 * `GET …/records/events/append-batch` is the batch route, which allows only `POST`, not a record read.
 */
import { BatchwriteApi } from "@batchwrite/api"
import type { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"

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

/** The path of a request, without its query. */
export const pathOf = (request: { readonly url: string }): string => new URL(request.url, "http://localhost").pathname

/** The route of a path, when the contract has one. */
export const matchRoute = (path: string): Route | undefined => {
  const segments = path.split("?")[0]!.split("/")
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
