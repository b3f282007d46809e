import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

/**
 * Two test files at a time, also on a 2-core machine (where vitest would run one): most of this suite's time is
 * spent waiting on the processes, databases and timers its files start, so two files at a time take the suite from
 * about 6 to about 3.5 minutes here, and every file must pass beside another one anyway (CI machines are loaded).
 */
export default mergeConfig(shared, defineConfig({ test: { maxWorkers: 2, minWorkers: 1 } }))
