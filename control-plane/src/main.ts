import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../../lib/src/logger.js";
import { createAuthInterceptor } from "./auth/interceptor.js";
import { createOidcVerifier } from "./auth/oidc.js";
import { ensureAdminKey } from "./bootstrap.js";
import { createChangeFeed } from "./changes/change-feed.js";
import { createTableBuilder } from "./changes/table-builder.js";
import { createWorkerRegistry, type WorkerRegistry } from "./changes/worker-registry.js";
import type { ControlPlaneConfig } from "./config.js";
import { createSecretBox } from "./crypto/envelope.js";
import { migrate } from "./db/migrate.js";
import { openDatabase } from "./db/open.js";
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

/** Starts the control plane: database, migrations, bootstrap key, RPC server. */
export async function startControlPlane(config: ControlPlaneConfig, log: Logger): Promise<ControlPlane> {
  const database = await openDatabase(config, log);
  const db = createPool({ connectionString: database.url, max: config.databaseUrl ? 20 : 8 });
  db.on("error", (err) => log.error({ err }, "idle database client failed"));
  await migrate(db, log);
  const boot = await ensureAdminKey(db, log, config.adminKey);

  const feed = createChangeFeed(db, log, config.pollMs);
  const box = createSecretBox(database.masterKeys);
  const workers = createWorkerRegistry();
  const deps = {
    db,
    feed,
    box,
    log,
    tables: createTableBuilder(box),
    workers,
    heartbeatSeconds: config.heartbeatSeconds,
    oidcIssuer: config.oidc?.issuer,
  };
  const connect = connectNodeAdapter({
    routes: registerRoutes(deps),
    interceptors: [
      createAuthInterceptor(
        db,
        config.workerToken,
        config.oidc ? createOidcVerifier(config.oidc, db, log) : undefined,
      ),
    ],
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
