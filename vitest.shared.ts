/**
 * What every package's vitest configuration shares: inside the workspace, `@batchwrite/*` imports resolve to their
 * TypeScript sources (the `@batchwrite/source` export condition), so tests never wait for a build of a dependency.
 */
import { defineConfig } from "vitest/config"

const conditions = ["@batchwrite/source", "module", "node", "development|production"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // Hooks start and stop real services and processes; on a loaded machine that takes longer than vitest's 10 s.
    hookTimeout: 60_000
  }
})
