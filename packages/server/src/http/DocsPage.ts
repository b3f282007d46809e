/**
 * `/docs`: the API reference page, rendered on the server from the OpenAPI document — a table of contents, the
 * guide of the API's description, every error code, and for each route its parameters, request body, curl commands
 * and answers with their examples, all as they are in `openapi.json`. One HTML page with its style inline: no
 * script and nothing from another host, so it works on machines without internet access.
 */
import { readableJson, ResponseHeaders } from "@batchwrite/api"
import { escapeHtml, inlineHtml, markdownHeadings, markdownHtml, slug } from "./Markdown.js"

interface Example {
  readonly summary?: string
  readonly value?: unknown
}

interface Content {
  readonly examples?: Readonly<Record<string, Example>>
}

interface Response extends ResponseHeaders.Response {
  readonly headers?: Readonly<Record<string, { readonly description?: string }>>
  readonly content?: Readonly<Record<string, Content & NonNullable<ResponseHeaders.Response["content"]>[string]>>
}

interface Parameter {
  readonly name: string
  readonly in: string
  readonly required?: boolean
  readonly description?: string
}

interface Operation {
  readonly operationId?: string
  readonly tags?: ReadonlyArray<string>
  readonly summary?: string
  readonly description?: string
  readonly security?: ReadonlyArray<unknown>
  readonly parameters?: ReadonlyArray<Parameter>
  readonly requestBody?: { readonly content?: Readonly<Record<string, Content>> }
  readonly responses?: Readonly<Record<string, Response>>
  readonly "x-codeSamples"?: ReadonlyArray<{ readonly label: string; readonly source: string }>
}

interface Document {
  readonly info?: { readonly title?: string; readonly version?: string; readonly description?: string }
  readonly servers?: ReadonlyArray<{
    readonly url: string
    readonly description?: string
    readonly variables?: Readonly<Record<string, { readonly default: string; readonly description?: string }>>
  }>
  readonly tags?: ReadonlyArray<{ readonly name: string; readonly description?: string }>
  readonly paths?: Readonly<Record<string, Readonly<Record<string, Operation>>>>
  readonly components?: {
    readonly schemas?: Readonly<Record<string, ResponseHeaders.Component>>
    readonly securitySchemes?: Readonly<Record<string, { readonly description?: string }>>
  }
}

interface Route {
  readonly method: string
  readonly path: string
  readonly operation: Operation
  readonly id: string
}

/** A route's anchor: its `operationId` (`records.appendBatch`). */
const routeId = (method: string, path: string, operation: Operation) => operation.operationId ?? `${method} ${path}`

const routesOf = (doc: Document): Array<Route> =>
  Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      method,
      path,
      operation,
      id: routeId(method, path, operation)
    }))
  )

const methodBadge = (method: string) =>
  `<span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span>`

const pre = (text: string, label: string) =>
  `<pre aria-label="${escapeHtml(label)}"><code>${escapeHtml(text)}</code></pre>`

// ---------------------------------------------------------------------------------------------------------------
// The table of contents
// ---------------------------------------------------------------------------------------------------------------

const tableOfContents = (doc: Document, routes: ReadonlyArray<Route>): string => {
  const guide = ["Overview", ...markdownHeadings(doc.info?.description ?? ""), "Servers", "Authentication", "Errors"]
  const guideLinks = guide.map((title) => `<li><a href="#${slug(title)}">${escapeHtml(title)}</a></li>`).join("")
  const groups = (doc.tags ?? []).map((tag) => {
    const links = routes
      .filter((route) => route.operation.tags?.includes(tag.name))
      .map(
        (route) =>
          `<li><a href="#${escapeHtml(route.id)}">${methodBadge(route.method)} ${escapeHtml(route.operation.summary ?? route.path)}</a></li>`
      )
      .join("")
    return `<h2><a href="#tag-${slug(tag.name)}">${escapeHtml(tag.name)}</a></h2><ul>${links}</ul>`
  })
  return `<nav aria-label="Table of contents"><p class="brand"><a href="#top">${escapeHtml(doc.info?.title ?? "API")}</a>
<span>v${escapeHtml(doc.info?.version ?? "")}</span></p><h2>Guide</h2><ul>${guideLinks}</ul>${groups.join("")}</nav>`
}

// ---------------------------------------------------------------------------------------------------------------
// The guide: the description, the servers, authentication and every error code
// ---------------------------------------------------------------------------------------------------------------

const serversSection = (doc: Document): string => {
  const items = (doc.servers ?? []).map((server) => {
    const variables = Object.entries(server.variables ?? {})
      .map(
        ([name, variable]) =>
          `<li><code>${escapeHtml(name)}</code>: default <code>${escapeHtml(variable.default)}</code>. ${escapeHtml(variable.description ?? "")}</li>`
      )
      .join("")
    return `<p><code>${escapeHtml(server.url)}</code> ${escapeHtml(server.description ?? "")}</p><ul>${variables}</ul>`
  })
  return `<section><h2 id="servers">Servers</h2>${items.join("")}
<p>The curl commands below use the defaults, and read the token from <code>$BATCHWRITE_TOKEN</code> as the
<code>batchwrite</code> command does.</p></section>`
}

const authenticationSection = (doc: Document): string => {
  const schemes = Object.entries(doc.components?.securitySchemes ?? {})
    .map(([name, scheme]) => `<p><strong>${escapeHtml(name)}</strong>: ${inlineHtml(scheme.description ?? "")}</p>`)
    .join("")
  return `<section><h2 id="authentication">Authentication</h2>${schemes}</section>`
}

/** Every error code the routes may answer, with its status and meaning, in status order. */
const errorsSection = (doc: Document, routes: ReadonlyArray<Route>): string => {
  const components = doc.components?.schemas ?? {}
  const rows = new Map<string, { status: string; description: string }>()
  for (const { operation } of routes) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (Number(status) < 400) continue
      for (const error of ResponseHeaders.errorsOfResponse(response, components) ?? []) {
        if (!rows.has(error.code)) rows.set(error.code, { status, description: error.description })
      }
    }
  }
  const body = [...rows.entries()]
    .sort(([, a], [, b]) => Number(a.status) - Number(b.status))
    .map(
      ([code, { description, status }]) =>
        `<tr><td>${escapeHtml(status)}</td><td><code>${escapeHtml(code)}</code></td><td>${inlineHtml(description)}</td></tr>`
    )
    .join("")
  return `<section><h2 id="errors">Errors</h2>
<p>Every error is the envelope <code>{"success": false, "error": {"code", "message", "details"?}}</code>; a client
tells errors apart by <code>error.code</code>. Each route below lists the ones it may answer, with an example.</p>
<table><thead><tr><th>Status</th><th>Code</th><th>Meaning</th></tr></thead><tbody>${body}</tbody></table></section>`
}

// ---------------------------------------------------------------------------------------------------------------
// One route
// ---------------------------------------------------------------------------------------------------------------

const parametersTable = (parameters: ReadonlyArray<Parameter>): string => {
  if (parameters.length === 0) return ""
  const rows = parameters
    .map(
      (parameter) =>
        `<tr><td><code>${escapeHtml(parameter.name)}</code></td><td>${escapeHtml(parameter.in)}</td><td>${
          parameter.required === true ? "required" : "optional"
        }</td><td>${inlineHtml(parameter.description ?? "")}</td></tr>`
    )
    .join("")
  return `<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th></th><th>Description</th></tr></thead>
<tbody>${rows}</tbody></table>`
}

const examplesHtml = (examples: Readonly<Record<string, Example>> | undefined, what: string): string =>
  Object.entries(examples ?? {})
    .map(
      ([name, example]) =>
        `<p class="example">${inlineHtml(example.summary ?? name)}</p>${pre(readableJson(example.value, 90), `${what}: ${name}`)}`
    )
    .join("")

const requestBodyHtml = (operation: Operation): string => {
  const json = operation.requestBody?.content?.["application/json"]
  return json === undefined ? "" : `<h4>Request body</h4>${examplesHtml(json.examples, "request body")}`
}

const curlHtml = (route: Route): string =>
  (route.operation["x-codeSamples"] ?? [])
    .map(
      (sample, i) =>
        `${i === 0 ? "<h4>curl</h4>" : `<p class="example">${inlineHtml(sample.label)}</p>`}${pre(sample.source, `${route.id} ${sample.label}`)}`
    )
    .join("")

const responseHtml = (status: string, response: Response): string => {
  const headers = Object.entries(response.headers ?? {})
    .map(([name, header]) => `<li><code>${escapeHtml(name)}</code>: ${inlineHtml(header.description ?? "")}</li>`)
    .join("")
  const examples = Object.values(response.content ?? {})
    .map((content) => examplesHtml(content.examples, `${status} answer`))
    .join("")
  const statusClass = `s${status[0]}xx`
  return `<details${Number(status) < 400 ? " open" : ""}><summary><span class="status ${statusClass}">${escapeHtml(status)}</span>
${inlineHtml(response.description ?? "")}</summary>${headers === "" ? "" : `<ul class="headers">${headers}</ul>`}${examples}</details>`
}

const routeSection = (route: Route): string => {
  const { operation } = route
  const responses = Object.entries(operation.responses ?? {})
    .map(([status, response]) => responseHtml(status, response))
    .join("\n")
  const auth =
    (operation.security ?? []).length > 0
      ? `<p class="auth">Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>`
      : `<p class="auth">No token needed.</p>`
  return `<section class="route" id="${escapeHtml(route.id)}">
<h3>${methodBadge(route.method)} <code>${escapeHtml(route.path)}</code></h3>
<p class="summary">${escapeHtml(operation.summary ?? "")}</p>${auth}
${markdownHtml(operation.description ?? "")}
${parametersTable(operation.parameters ?? [])}${requestBodyHtml(operation)}${curlHtml(route)}
<h4>Responses</h4>${responses}</section>`
}

const groupSection = (tag: { readonly name: string; readonly description?: string }, routes: ReadonlyArray<Route>) =>
  `<section class="group"><h2 id="tag-${slug(tag.name)}">${escapeHtml(tag.name)}</h2><p>${inlineHtml(tag.description ?? "")}</p>
${routes
  .filter((route) => route.operation.tags?.includes(tag.name))
  .map(routeSection)
  .join("\n")}</section>`

const style = `
:root{--ink:#1d2433;--muted:#5b6475;--line:#e3e6ec;--paper:#fff;--side:#f6f7f9;--code:#f3f4f7;--accent:#2455c3}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--paper)}
nav{position:fixed;top:0;bottom:0;left:0;width:17rem;overflow-y:auto;background:var(--side);border-right:1px solid var(--line);padding:1rem 1rem 2rem;font-size:14px}
nav .brand{font-size:1.15rem;font-weight:700;margin:0 0 .5rem}nav .brand span{font-weight:400;color:var(--muted);font-size:.85rem;margin-left:.3rem}
nav h2{font-size:.75rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:1.2rem 0 .3rem}
nav ul{list-style:none;margin:0;padding:0}nav li{margin:.15rem 0}nav a{color:var(--ink);text-decoration:none}nav a:hover{color:var(--accent)}
nav .method{min-width:2.9rem}
main{margin-left:17rem;padding:1.5rem 2.5rem 4rem;max-width:64rem}
h1{font-size:1.9rem;margin:.2rem 0}h2{font-size:1.4rem;margin:2.2rem 0 .6rem;padding-top:.4rem;border-top:1px solid var(--line)}
h3{font-size:1.1rem;margin:0 0 .3rem;word-break:break-all}h4{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:1.2rem 0 .4rem}
a{color:var(--accent)}code{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);padding:.05rem .25rem;border-radius:3px}
pre{background:#11151f;color:#e7eaf0;padding:.8rem 1rem;border-radius:6px;overflow-x:auto;margin:.3rem 0 .8rem}pre code{background:none;padding:0;color:inherit}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:14px}th,td{text-align:left;vertical-align:top;border-bottom:1px solid var(--line);padding:.35rem .5rem}th{color:var(--muted);font-weight:600}
.method{display:inline-block;min-width:3.6rem;text-align:center;font:700 11px/1.8 ui-monospace,monospace;border-radius:4px;color:#fff;background:#6b7280;padding:0 .35rem;margin-right:.2rem}
.method.get{background:#1f7a4d}.method.post{background:#2455c3}.method.put{background:#a15c07}
.route{border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:1.2rem 0}
.summary{font-size:1.05rem;font-weight:600;margin:.2rem 0}.auth{color:var(--muted);font-size:13px;margin:.1rem 0 .6rem}
details{border-top:1px solid var(--line);padding:.35rem 0}summary{cursor:pointer}
.status{display:inline-block;min-width:2.6rem;font:700 12px/1.7 ui-monospace,monospace;text-align:center;border-radius:4px;margin-right:.4rem}
.s2xx{background:#dcf3e6;color:#135c37}.s4xx{background:#fde8d7;color:#8a3d06}.s5xx{background:#fbe0e0;color:#8f1d1d}
.headers{font-size:13.5px;margin:.3rem 0}.example{color:var(--muted);font-size:13.5px;margin:.6rem 0 .2rem}
@media (max-width:900px){nav{position:static;width:auto;border-right:none}main{margin-left:0;padding:1rem}}
`

/** The HTML of the reference page of an OpenAPI document made from the batchwrite contract. */
export const docsPage = (spec: unknown): string => {
  const doc = spec as Document
  const routes = routesOf(doc)
  const title = escapeHtml(doc.info?.title ?? "batchwrite")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} API reference</title><style>${style}</style></head>
<body>${tableOfContents(doc, routes)}
<main><header id="top"><h1>${title} API reference</h1>
<p>Version ${escapeHtml(doc.info?.version ?? "")} · the machine-readable document is
<a href="/public/v1/openapi.json">/public/v1/openapi.json</a> (OpenAPI 3.1): every example here is in it.</p></header>
<section><h2 id="overview">Overview</h2>${markdownHtml(doc.info?.description ?? "")}</section>
${serversSection(doc)}
${authenticationSection(doc)}
${errorsSection(doc, routes)}
${(doc.tags ?? []).map((tag) => groupSection(tag, routes)).join("\n")}
</main></body></html>`
}
