/**
 * Where the module of one of the service's `worker_threads` threads is. Each such module is built as its own entry:
 * in this package's `dist/<folder>/`, and next to the bundled CLI (its `dist/`).
 */
import { existsSync } from "node:fs"

/**
 * The URL of the thread module `file` of `folder` (`storage`, `services`), for the module at `from` (its
 * `import.meta.url`) that starts the thread: next to it in a build (this package's `dist/<folder>/`, or the bundled
 * CLI's `dist/`), else, when running from the TypeScript sources (tests, `tsx`), this package's build, which
 * `pnpm build` makes (and `pnpm test` runs first). `what` names the module in the error when it is not built.
 */
export const threadModuleUrl = (from: string, folder: string, file: string, what: string): URL => {
  for (const candidate of [`./${file}`, `../../dist/${folder}/${file}`]) {
    const url = new URL(candidate, from)
    if (existsSync(url)) return url
  }
  throw new Error(`${what} (${file}) is not built: run \`pnpm build\``)
}
