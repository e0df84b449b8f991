import { createSecretBox } from "../../../control-plane/src/crypto/envelope.js";
import { rewrapCredentials } from "../../../control-plane/src/crypto/rewrap.js";
import { migrate } from "../../../control-plane/src/db/migrate.js";
import { openDatabase } from "../../../control-plane/src/db/open.js";
import { createPool } from "../../../control-plane/src/db/pool.js";
import { envOptional, envString } from "../../../lib/src/env.js";
import { createLogger } from "../../../lib/src/logger.js";

/**
 * `llm-gateway rotate-master-key`: with LLM_GATEWAY_MASTER_KEY="<new>,<old>"
 * (and every replica already restarted with that list), re-wraps all
 * credential data keys with <new>. Then <old> can be dropped from the list.
 */
export async function runRotateMasterKey(): Promise<void> {
  const log = createLogger("rotate-master-key");
  const database = await openDatabase(
    {
      databaseUrl: envOptional(process.env, "DATABASE_URL"),
      dataDir: envString(process.env, "LLM_GATEWAY_DATA_DIR", ".data"),
      masterKey: envOptional(process.env, "LLM_GATEWAY_MASTER_KEY"),
    },
    log,
  );
  const db = createPool({ connectionString: database.url, max: 2 });
  try {
    await migrate(db, log);
    const box = createSecretBox(database.masterKeys);
    const count = await rewrapCredentials(db, box, log);
    log.info({ rewrapped: count, masterKeyId: box.currentKeyId }, "master-key rotation complete");
  } finally {
    await db.end();
    await database.close();
  }
}
