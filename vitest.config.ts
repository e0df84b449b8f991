import { defineConfig } from "vitest/config";

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
          exclude: ["node_modules/**", "dist/**", "test/cluster/**"],
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
