// Bundles the CLI into one ESM file (dist/bin.js) so `batchwrite` starts fast with plain `node`, and the modules of
// the server's threads beside it (dist/SqliteWorker.js and dist/AppendPreparationWorker.js, where the server's
// SqliteThread and AppendPreparation look for them).
import { build } from "esbuild"

await build({
  entryPoints: {
    bin: "src/bin.ts",
    SqliteWorker: "../../packages/server/src/storage/SqliteWorker.ts",
    AppendPreparationWorker: "../../packages/server/src/services/AppendPreparationWorker.ts"
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
