import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../../lib/src/logger.js";
import { projectRoot } from "../../../lib/src/paths.js";
import type { Db } from "./pool.js";

/** Any constant works; it only has to be the same on every replica. */
const MIGRATION_LOCK_ID = 7_401_122_019;

export function migrationsDir(): string {
  return join(projectRoot(), "control-plane", "migrations");
}

/**
 * Applies the plain SQL migrations in file-name order, each in its own
 * transaction, under a session advisory lock so replicas starting together
 * apply each file once. Returns the names applied by this call.
 */
export async function migrate(db: Db, log?: Logger, dir = migrationsDir()): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const client = await db.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(join(dir, file), "utf8");
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(file);
      log?.info({ migration: file }, "migration applied");
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]).catch(() => undefined);
    client.release();
  }
  return applied;
}
