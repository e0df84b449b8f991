import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../../lib/src/logger.js";
import { createAuthInterceptor } from "./auth/interceptor.js";
import { ensureAdminKey } from "./bootstrap.js";
import { createChangeFeed } from "./changes/change-feed.js";
import { createTableBuilder } from "./changes/table-builder.js";
import { createWorkerRegistry, type WorkerRegistry } from "./changes/worker-registry.js";
import type { ControlPlaneConfig } from "./config.js";
import { createSecretBox } from "./crypto/envelope.js";
import { loadOrCreateLocalMasterKey, parseMasterKey } from "./crypto/master-key.js";
import { startEmbeddedPostgres } from "./db/embedded.js";
import { migrate } from "./db/migrate.js";
import { createPool, type Db } from "./db/pool.js";
import { REST_SERVICES } from "./rest/services.js";
import { createRestTranscoder } from "./rest/transcoder.js";
import { registerRoutes } from "./routes.js";
import { listenH1AndH2c } from "./server.js";
import type { WorkerServiceDeps } from "./services/worker-service.js";

export interface ControlPlane {
  url: string;
  port: number;
  db: Db;
  deps: WorkerServiceDeps;
  workers: WorkerRegistry;
  /** Generated admin key on first start (print once), else undefined. */
  createdAdminKey: string | undefined;
  bootstrapOrgId: string;
  close(): Promise<void>;
}

async function openDatabase(config: ControlPlaneConfig, log: Logger) {
  if (config.databaseUrl) {
    if (!config.masterKey) throw new Error("LLM_GATEWAY_MASTER_KEY is required when DATABASE_URL is set");
    return { url: config.databaseUrl, masterKey: parseMasterKey(config.masterKey), close: async () => {} };
  }
  const embedded = await startEmbeddedPostgres(config.dataDir);
  log.info(
    { dataDir: config.dataDir },
    "embedded PostgreSQL (PGlite) started; set DATABASE_URL for a real server",
  );
  let masterKey: Buffer;
  if (config.masterKey) {
    masterKey = parseMasterKey(config.masterKey);
  } else {
    const local = await loadOrCreateLocalMasterKey(config.dataDir);
    masterKey = local.key;
    if (local.created) {
      log.warn(
        { path: `${config.dataDir}/master.key` },
        "generated a credential master key and stored it beside the data: fine for a laptop, not for production (set LLM_GATEWAY_MASTER_KEY)",
      );
    }
  }
  return { url: embedded.url, masterKey, close: () => embedded.close() };
}

/** Starts the control plane: database, migrations, bootstrap key, RPC server. */
export async function startControlPlane(config: ControlPlaneConfig, log: Logger): Promise<ControlPlane> {
  const database = await openDatabase(config, log);
  const db = createPool({ connectionString: database.url, max: config.databaseUrl ? 20 : 8 });
  db.on("error", (err) => log.error({ err }, "idle database client failed"));
  await migrate(db, log);
  const boot = await ensureAdminKey(db, log, config.adminKey);

  const feed = createChangeFeed(db, log, config.pollMs);
  const box = createSecretBox(database.masterKey);
  const workers = createWorkerRegistry();
  const deps = {
    db,
    feed,
    box,
    log,
    tables: createTableBuilder(box),
    workers,
    heartbeatSeconds: config.heartbeatSeconds,
  };
  const connect = connectNodeAdapter({
    routes: registerRoutes(deps),
    interceptors: [createAuthInterceptor(db, config.workerToken)],
  });
  const rest = createRestTranscoder({ services: REST_SERVICES, connectHandler: connect, log });
  const server = await listenH1AndH2c(
    (req, res) => {
      if (req.url === "/healthz" || req.url === "/readyz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      if (rest(req, res)) return;
      connect(req, res);
    },
    config.host,
    config.port,
  );
  const url = `http://${config.host}:${server.port}`;
  log.info({ url }, "control plane listening");
  return {
    url,
    port: server.port,
    db,
    deps,
    workers,
    createdAdminKey: boot.createdKey,
    bootstrapOrgId: boot.orgId,
    async close() {
      feed.close();
      await server.close();
      await db.end();
      await database.close();
    },
  };
}
