// Bundles the CLI into one ESM file (dist/bin.js) so `batchwrite` starts fast with plain `node`, and the SQLite
// thread's module beside it (dist/SqliteWorker.js, where the server's SqliteThread looks for it).
import { build } from "esbuild"

await build({
  entryPoints: {
    bin: "src/bin.ts",
    SqliteWorker: "../../packages/server/src/storage/SqliteWorker.ts"
  },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  // The workspace's packages from their TypeScript sources (their `@batchwrite/source` export condition).
  conditions: ["@batchwrite/source"],
  // Native and optional modules stay outside the bundle and load from node_modules.
  external: ["better-sqlite3", "pg-native", "bufferutil", "utf-8-validate"],
  banner: {
    js: [
      'import { createRequire as __createRequire } from "node:module";',
      "const require = __createRequire(import.meta.url);"
    ].join("\n")
  },
  logLevel: "warning"
})
