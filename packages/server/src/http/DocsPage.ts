/**
 * `/docs`: an API reference page rendered on the server from the OpenAPI document, with no script and no asset
 * from the internet, so it works on machines without internet access.
 */

interface OpenApiLike {
  readonly info?: { readonly title?: string; readonly version?: string; readonly description?: string }
  readonly paths?: Record<
    string,
    Record<string, { summary?: string; description?: string; responses?: Record<string, { description?: string }> }>
  >
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** The HTML of the reference page. */
export const docsPage = (spec: unknown): string => {
  const doc = spec as OpenApiLike
  const sections = Object.entries(doc.paths ?? {}).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const statuses = Object.entries(operation.responses ?? {})
        .map(
          ([status, response]) =>
            `<li><code>${escapeHtml(status)}</code> ${escapeHtml(response.description ?? "")}</li>`
        )
        .join("")
      return `<section><h2><span class="method">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h2>
<p>${escapeHtml(operation.summary ?? "")}</p><p>${escapeHtml(operation.description ?? "")}</p><ul>${statuses}</ul></section>`
    })
  )
  const title = escapeHtml(doc.info?.title ?? "batchwrite")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} API reference</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border-top:1px solid #ddd;padding:.5rem 0}.method{display:inline-block;min-width:4.5rem;color:#0a5}code{font-size:.95em}</style>
</head><body><h1>${title} API reference</h1><p>Version ${escapeHtml(doc.info?.version ?? "")}. ${escapeHtml(doc.info?.description ?? "")}</p>
<p>The machine-readable document is <a href="/public/v1/openapi.json">/public/v1/openapi.json</a>.</p>
${sections.join("\n")}</body></html>`
}
