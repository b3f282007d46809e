import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

/**
 * Two test files at a time, also on a 2-core machine (where vitest would run one): the files spend most of their
 * time waiting on the `batchwrite` processes and services they start, so two at a time took the suite from 3.6
 * minutes (CI, one at a time, on a slow day) to 2.4 here (see `packages/server/vitest.config.ts`, which does the same).
 */
export default mergeConfig(shared, defineConfig({ test: { maxWorkers: 2, minWorkers: 1 } }))
