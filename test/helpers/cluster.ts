import { describe, it } from "vitest";

/**
 * Production-topology tests (several control-plane replicas on one
 * PostgreSQL, Redis fan-out, processes killed under load) need real servers:
 * DATABASE_URL and REDIS_URL. They live under test/cluster/. Locally they are
 * skipped without those servers; in CI (CI=true) a missing server fails the
 * suite instead of skipping it. `.ci/run` runs them in its PostgreSQL pass
 * and leaves test/cluster/ out of the embedded-PGlite pass, which exists to
 * check the single-process default.
 */
export interface ClusterServices {
  databaseUrl: string;
  redisUrl: string;
}

export function clusterServices(): ClusterServices | undefined {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  return databaseUrl && redisUrl ? { databaseUrl, redisUrl } : undefined;
}

/** `describe` for a cluster test: runs with the servers, fails in CI without them, else skips. */
export function describeCluster(name: string, fn: (services: ClusterServices) => void): void {
  const services = clusterServices();
  if (services) {
    describe(name, () => fn(services));
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it("has DATABASE_URL and REDIS_URL (cluster tests need real PostgreSQL and Redis)", () => {
        throw new Error("DATABASE_URL and REDIS_URL must be set in CI: cluster tests may not be skipped");
      });
    });
  } else {
    describe.skip(`${name} (needs DATABASE_URL and REDIS_URL)`, () => fn({ databaseUrl: "", redisUrl: "" }));
  }
}
