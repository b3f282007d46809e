/**
 * Completes the OpenAPI document with what a reader tries first: the server to send requests to, and for each route
 * its examples (request body, every answer, every error envelope it may carry) and a curl command that sends the
 * example request as it is (`x-codeSamples`, as Redoc and Scalar read them). The examples are those of
 * `Examples.ts`; the `/docs` page renders this document.
 */
import { type ApiError, codeOf } from "./ApiErrors.js"
import { type Example, errorExample, errorExamples, type RouteExamples, routeExamples } from "./Examples.js"
import { type Component, errorsOfResponse, type Response } from "./ResponseHeaders.js"

/** Where `batchwrite serve` listens by default: the origin of every example. */
export const exampleOrigin = "http://127.0.0.1:8787"

/** The `servers` of the document: a `batchwrite serve` on a host and port (default the local one). */
export const servers = [
  {
    url: "http://{host}:{port}",
    description: "A batchwrite serve (the paths carry the /public/v1 base path)",
    variables: {
      host: { default: "127.0.0.1", description: "The host batchwrite serve listens on (--host)" },
      port: { default: "8787", description: "Its port (--port)" }
    }
  }
]

/** The environment variable the curl examples read the bearer token from, as the CLI does. */
export const tokenVariable = "BATCHWRITE_TOKEN"

/** One shell command of an operation (`x-codeSamples` entry). */
export interface CodeSample {
  readonly lang: "Shell"
  readonly label: string
  readonly source: string
}

type Operation = {
  readonly operationId?: string
  readonly security?: ReadonlyArray<unknown>
  readonly requestBody?: { readonly content?: Readonly<Record<string, object>> }
  readonly responses?: Readonly<Record<string, Response>>
}

/** A shell word in single quotes. */
const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`

/** The URL of the example request of `path`: its parameters filled in, and its query. */
const exampleUrl = (path: string, examples: RouteExamples): string => {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(examples.path?.[name] ?? name))
  const query = new URLSearchParams(examples.query ?? {}).toString()
  return `${exampleOrigin}${filled}${query === "" ? "" : `?${query}`}`
}

/**
 * JSON for people: indented by two spaces, but any array or object that fits on one line of `width` stays on one
 * line (a record per line in a batch).
 */
export const readableJson = (value: unknown, width = 100, indent = ""): string => {
  const flat = JSON.stringify(value)
  if (value === null || typeof value !== "object" || indent.length + flat.length <= width) return flat
  const inner = `${indent}  `
  const entries = Array.isArray(value)
    ? value.map((item) => readableJson(item, width, inner))
    : Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${readableJson(item, width, inner)}`)
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"]
  return `${open}\n${entries.map((entry) => `${inner}${entry}`).join(",\n")}\n${indent}${close}`
}

/** The curl command sending the example request of an operation with `headers` (default the example's own). */
const curlCommand = (
  method: string,
  path: string,
  operation: Operation,
  examples: RouteExamples,
  headers: Readonly<Record<string, string>> = examples.headers ?? {}
): string => {
  const lines = [`curl${method === "get" ? "" : ` -X ${method.toUpperCase()}`} ${quote(exampleUrl(path, examples))}`]
  if ((operation.security ?? []).length > 0) lines.push(`-H "Authorization: Bearer $${tokenVariable}"`)
  const all = examples.body === undefined ? headers : { ...headers, "Content-Type": "application/json" }
  for (const [name, value] of Object.entries(all)) lines.push(`-H ${quote(`${name}: ${value}`)}`)
  if (examples.body !== undefined) lines.push(`--data ${quote(readableJson(examples.body.value, 96))}`)
  return lines.join(" \\\n  ")
}

const codeSamples = (method: string, path: string, operation: Operation, examples: RouteExamples) => [
  { lang: "Shell", label: "curl", source: curlCommand(method, path, operation, examples) } satisfies CodeSample,
  ...(examples.variants ?? []).map(
    (variant): CodeSample => ({
      lang: "Shell",
      label: `curl: ${variant.summary}`,
      source: curlCommand(method, path, operation, examples, variant.headers)
    })
  )
]

/** The examples of an error response: one per code it may carry, the route's own first. */
const errorResponseExamples = (
  response: Response,
  components: Readonly<Record<string, Component>>,
  routeErrors: ReadonlyArray<ApiError>
): Record<string, Example> | undefined => {
  const codes = errorsOfResponse(response, components)?.map((error) => error.code)
  if (codes === undefined) return undefined
  const examples: Record<string, Example> = {}
  for (const error of [...routeErrors, ...errorExamples]) {
    const code = codeOf(error)
    const name = code.slice(code.lastIndexOf(".") + 1)
    if (codes.includes(code) && examples[name] === undefined) examples[name] = errorExample(error)
  }
  return examples
}

/** A response with `examples` on its JSON content. */
const withExamples = (response: Response, examples: Record<string, Example> | undefined): Response => {
  const json = response.content?.["application/json"]
  if (json === undefined || examples === undefined || Object.keys(examples).length === 0) return response
  return { ...response, content: { ...response.content, "application/json": { ...json, examples } as object } }
}

const documentOperation = (
  method: string,
  path: string,
  operation: Operation,
  components: Readonly<Record<string, Component>>
): Operation => {
  const examples = routeExamples[operation.operationId ?? ""] ?? {}
  const responses = Object.fromEntries(
    Object.entries(operation.responses ?? {}).map(([status, response]) => [
      status,
      withExamples(
        response,
        Number(status) >= 400
          ? errorResponseExamples(response, components, examples.errors ?? [])
          : examples.answers?.[status]
      )
    ])
  )
  const json = operation.requestBody?.content?.["application/json"]
  const requestBody =
    json === undefined || examples.body === undefined
      ? operation.requestBody
      : {
          ...operation.requestBody,
          content: {
            ...operation.requestBody?.content,
            "application/json": { ...json, examples: { request: examples.body } }
          }
        }
  return {
    ...operation,
    ...(requestBody === undefined ? undefined : { requestBody }),
    responses,
    "x-codeSamples": codeSamples(method, path, operation, examples)
  } as Operation
}

/**
 * Adds the examples of every request body and response, and each route's curl command to an OpenAPI
 * document made from the batchwrite contract (part of the `transform` annotation of `BatchwriteApi`).
 */
export const documentExamples = (spec: Record<string, unknown>): Record<string, unknown> => {
  const components = ((spec.components as { schemas?: Record<string, Component> } | undefined)?.schemas ??
    {}) as Readonly<Record<string, Component>>
  const paths = Object.fromEntries(
    Object.entries((spec.paths ?? {}) as Record<string, Record<string, Operation>>).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, operation]) => [
          method,
          documentOperation(method, path, operation, components)
        ])
      )
    ])
  )
  return { ...spec, paths }
}
