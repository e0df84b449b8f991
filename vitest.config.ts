import { defineConfig } from "vitest/config";

/**
 * Suites that never touch a database (the deployment files, alert rules, dashboards). CI runs the
 * whole suite against PostgreSQL, then again against the embedded PGlite default with these left
 * out (LLM_GATEWAY_TEST_DATABASE_PASS=second): they already ran once and would only run the same way.
 */
const databaseIndependent = ["test/helm/**", "test/envoy/**", "test/observability/**"];
const secondDatabasePass = process.env.LLM_GATEWAY_TEST_DATABASE_PASS === "second";

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "suite",
          include: ["**/*.test.ts"],
          exclude: [
            "**/node_modules/**",
            "bench/scratch/**",
            "dist/**",
            "test/cluster/**",
            ...(secondDatabasePass ? databaseIndependent : []),
          ],
          // Cross-process tests start real servers; keep files parallel but bounded on 2 cores.
          maxWorkers: 2,
        },
      },
      {
        test: {
          ...shared,
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          // Several processes each, timing-sensitive: one file at a time, after the rest.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
