import { startEmbeddedPostgres } from "../../../control-plane/src/db/embedded.js";
import { migrate } from "../../../control-plane/src/db/migrate.js";
import { createPool } from "../../../control-plane/src/db/pool.js";
import { envOptional, envString } from "../../../lib/src/env.js";
import { createLogger } from "../../../lib/src/logger.js";

/** `llm-gateway migrate`: applies pending migrations (DATABASE_URL, else the embedded data dir) and exits. */
export async function runMigrate(): Promise<void> {
  const log = createLogger("migrate");
  const url = envOptional(process.env, "DATABASE_URL");
  const embedded = url
    ? undefined
    : await startEmbeddedPostgres(envString(process.env, "LLM_GATEWAY_DATA_DIR", ".data"), log);
  const db = createPool({ connectionString: url ?? (embedded?.url as string), max: 2 });
  try {
    const applied = await migrate(db, log);
    log.info({ applied: applied.length }, applied.length ? "migrations applied" : "database is up to date");
  } finally {
    await db.end();
    await embedded?.close();
  }
}
