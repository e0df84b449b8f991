import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Cross-process tests start real servers; keep files parallel but bounded on 2 cores.
    maxWorkers: 2,
  },
});
