import type { Logger } from "../../../lib/src/logger.js";
import { loadOrCreateLocalMasterKey, parseMasterKeys } from "../crypto/master-key.js";
import { startEmbeddedPostgres } from "./embedded.js";

export interface DatabaseSettings {
  databaseUrl: string | undefined;
  dataDir: string;
  masterKey: string | undefined;
}

export interface OpenDatabase {
  url: string;
  /** The first seals new secrets; all open. */
  masterKeys: Buffer[];
  close(): Promise<void>;
}

/**
 * PostgreSQL from DATABASE_URL (a master key is then required), or the
 * embedded PGlite in the data directory with a master key generated there
 * once (with a warning) unless LLM_GATEWAY_MASTER_KEY is set.
 */
export async function openDatabase(config: DatabaseSettings, log: Logger): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    if (!config.masterKey) throw new Error("LLM_GATEWAY_MASTER_KEY is required when DATABASE_URL is set");
    return { url: config.databaseUrl, masterKeys: parseMasterKeys(config.masterKey), close: async () => {} };
  }
  const embedded = await startEmbeddedPostgres(config.dataDir, log);
  log.info(
    { dataDir: config.dataDir },
    "embedded PostgreSQL (PGlite) started; set DATABASE_URL for a real server",
  );
  if (config.masterKey)
    return {
      url: embedded.url,
      masterKeys: parseMasterKeys(config.masterKey),
      close: () => embedded.close(),
    };
  const local = await loadOrCreateLocalMasterKey(config.dataDir);
  if (local.created) {
    log.warn(
      { path: `${config.dataDir}/master.key` },
      "generated a credential master key and stored it beside the data: fine for a laptop, not for production (set LLM_GATEWAY_MASTER_KEY)",
    );
  }
  return { url: embedded.url, masterKeys: [local.key], close: () => embedded.close() };
}
