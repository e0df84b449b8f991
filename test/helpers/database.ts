import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/**
 * Where a test's control plane keeps its state: a fresh database on the real
 * PostgreSQL server named by DATABASE_URL (CI), or else a fresh data directory
 * for the embedded PGlite. Either way the test starts from an empty database.
 */
export interface TestDatabase {
  /** Environment for the control plane: DATABASE_URL or LLM_GATEWAY_DATA_DIR. */
  env: Record<string, string>;
  /** Real PostgreSQL URL of the test database, when there is one. */
  url: string | undefined;
  kind: "postgres" | "pglite";
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), "llmgw-pglite-"));
    return {
      env: { LLM_GATEWAY_DATA_DIR: dir },
      url: undefined,
      kind: "pglite",
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const name = `llmgw_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    url: url.toString(),
    kind: "postgres",
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
