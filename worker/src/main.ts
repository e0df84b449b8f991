import type { AddressInfo } from "node:net";
import type { Logger } from "../../lib/src/logger.js";
import type { WorkerConfig } from "./config.js";
import { createWorkerServer } from "./http/server.js";
import { createSessionAuthenticator } from "./http/session.js";
import { createRoutingTable, type RoutingTable } from "./table/routing-table.js";
import { startTableSync, type TableSync } from "./table/table-client.js";
import { createPools } from "./upstream/pools.js";
import { createUsageReporter, type UsageReporter } from "./usage/usage-reporter.js";

export const BUILD_VERSION = process.env.npm_package_version ?? "0.1.0";

export interface Worker {
  url: string;
  port: number;
  table: RoutingTable;
  sync: TableSync;
  usage: UsageReporter;
  /** Stops taking requests, waits for in-flight ones (up to the drain timeout), flushes usage. */
  close(): Promise<void>;
}

/** Starts a worker: routing-table sync, usage reporter, HTTP server. */
export async function startWorker(config: WorkerConfig, log: Logger): Promise<Worker> {
  const table = createRoutingTable();
  const sync = startTableSync({
    controlPlaneUrl: config.controlPlaneUrl,
    workerToken: config.workerToken,
    workerId: config.workerId,
    buildVersion: BUILD_VERSION,
    table,
    log,
  });
  const usage = createUsageReporter({
    controlPlaneUrl: config.controlPlaneUrl,
    workerToken: config.workerToken,
    workerId: config.workerId,
    log,
  });
  const pools = createPools({
    connectionsPerOrigin: config.upstreamConnections,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.upstreamBodyTimeoutMs,
  });
  let draining = false;
  const server = createWorkerServer({
    table,
    pools,
    usage,
    log,
    maxBodyBytes: config.maxBodyBytes,
    sessions: config.oidc ? createSessionAuthenticator(config.oidc, table) : undefined,
    isReady: () => !draining && table.version > 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host}:${port}`;
  log.info({ url, workerId: config.workerId }, "worker listening");
  return {
    url,
    port,
    table,
    sync,
    usage,
    async close() {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.drainTimeoutMs).unref());
      await Promise.race([closed, timeout]);
      server.closeAllConnections();
      sync.close();
      await usage.close();
      await pools.close();
    },
  };
}
