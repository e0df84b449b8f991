import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../../lib/src/logger.js";
import { createAuthInterceptor } from "./auth/interceptor.js";
import { createOidcVerifier } from "./auth/oidc.js";
import { startBillingSync } from "./billing/scheduler.js";
import { ensureAdminKey } from "./bootstrap.js";
import { type ChangeFeed, createChangeFeed } from "./changes/change-feed.js";
import { type RedisFanout, startRedisFanout } from "./changes/redis-fanout.js";
import { createTableBuilder } from "./changes/table-builder.js";
import { createWorkerRegistry, type WorkerRegistry } from "./changes/worker-registry.js";
import type { ControlPlaneConfig } from "./config.js";
import { createSecretBox } from "./crypto/envelope.js";
import { migrate } from "./db/migrate.js";
import { openDatabase } from "./db/open.js";
import { createPool, type Db } from "./db/pool.js";
import { createErrorLogInterceptor } from "./grpc/error-log.js";
import { REST_SERVICES } from "./rest/services.js";
import { createRestTranscoder } from "./rest/transcoder.js";
import { registerIngestUsageWire, registerRoutes } from "./routes.js";
import { listenH1AndH2c } from "./server.js";
import { isBinaryIngestUsage } from "./services/ingest-usage.js";
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
  /** LLM_GATEWAY_REPLICA_ID (or the generated default). */
  replicaId: string;
  close(): Promise<void>;
}

/** How long a start waits for the Redis subscription before going on with the version poll alone. */
const FANOUT_READY_MS = 3000;

/**
 * The Redis change fan-out when REDIS_URL is set. Subscribed before the
 * replica serves, so no announcement is missed; a Redis that is down delays
 * the start by at most FANOUT_READY_MS and the replica runs on the version poll.
 */
async function startFanout(
  config: ControlPlaneConfig,
  feed: ChangeFeed,
  db: Db,
  log: Logger,
): Promise<RedisFanout | undefined> {
  if (!config.redisUrl) return undefined;
  const fanout = startRedisFanout({
    url: config.redisUrl,
    channel: config.redisChannel,
    replicaId: config.replicaId,
    feed,
    db,
    log,
  });
  await fanout.ready(FANOUT_READY_MS);
  return fanout;
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
    replicaId: config.replicaId,
  };
  const interceptors = [
    createErrorLogInterceptor(log),
    createAuthInterceptor(
      db,
      config.workerToken,
      config.oidc ? createOidcVerifier(config.oidc, db, log) : undefined,
    ),
  ];
  const connect = connectNodeAdapter({ routes: registerRoutes(deps), interceptors });
  // Binary IngestUsage calls skip the reflective decode of every event (services/ingest-usage.ts).
  const ingestUsageWire = connectNodeAdapter({ routes: registerIngestUsageWire(deps), interceptors });
  const rest = createRestTranscoder({ services: REST_SERVICES, connectHandler: connect, log });
  const fanout = await startFanout(config, feed, db, log);
  const server = await listenH1AndH2c(
    (req, res) => {
      if (req.url === "/healthz" || req.url === "/readyz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      if (rest(req, res)) return;
      if (isBinaryIngestUsage(req.url, req.headers["content-type"])) ingestUsageWire(req, res);
      else connect(req, res);
    },
    config.host,
    config.port,
  ).catch(async (err: unknown) => {
    await fanout?.close();
    throw err;
  });
  const billing = startBillingSync(deps, config.billingSyncMinutes);
  const url = `http://${config.host}:${server.port}`;
  log.info({ url, replica: config.replicaId, fanout: fanout ? "redis" : "off" }, "control plane listening");
  return {
    url,
    port: server.port,
    db,
    deps,
    workers,
    createdAdminKey: boot.createdKey,
    bootstrapOrgId: boot.orgId,
    replicaId: config.replicaId,
    async close() {
      await billing.close();
      await fanout?.close();
      feed.close();
      await server.close();
      await db.end();
      await database.close();
    },
  };
}
