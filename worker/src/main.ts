import type { AddressInfo } from "node:net";
import type { Logger } from "../../lib/src/logger.js";
import { inCluster, joinClusterMetrics, localMetrics } from "./cluster/child.js";
import type { WorkerConfig } from "./config.js";
import { createWorkerServer } from "./http/server.js";
import { createMetricsHandler } from "./metrics/endpoint.js";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics/metrics.js";
import { createRequestMetrics } from "./metrics/request-metrics.js";
import { combineObservers } from "./observe/observer.js";
import { createTracing } from "./observe/tracing.js";
import { createPriceBook } from "./pricing/price-book.js";
import { createRoutingEngine } from "./routing/engine.js";
import { type CredentialHealth, createCredentialHealth } from "./routing/health.js";
import { createEngineObserver } from "./routing/observer.js";
import { createRetryBudget } from "./routing/retry-budget.js";
import { createKeepalive } from "./streaming/keepalive.js";
import { createRoutingTable, type RoutingTable } from "./table/routing-table.js";
import { startStatusReporter } from "./table/status-reporter.js";
import { startTableSync, type TableSync } from "./table/table-client.js";
import { createPools } from "./upstream/pools.js";
import { createOperationalEvents } from "./usage/operational-events.js";
import { createUsageReporter, type UsageReporter } from "./usage/usage-reporter.js";

export const BUILD_VERSION = process.env.npm_package_version ?? "0.1.0";

export interface Worker {
  url: string;
  port: number;
  table: RoutingTable;
  sync: TableSync;
  usage: UsageReporter;
  health: CredentialHealth;
  metrics: WorkerMetrics;
  /**
   * Drains: /readyz turns 503 at once, requests in flight (streams included)
   * run to their end or the drain timeout, then usage is flushed.
   */
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Listen only once the first routing table arrived, or this many ms passed.
   * A cluster's worker process uses it: node:cluster hands connections to
   * every listening process, and one without a table would answer 503.
   */
  awaitTableMs?: number;
}

/** Starts a worker: routing-table sync, routing engine, usage reporter, HTTP server. */
export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  opts: StartOptions = {},
): Promise<Worker> {
  let draining = false;
  const table = createRoutingTable();
  const events = createOperationalEvents({
    workerId: config.workerId,
    windowMs: config.operationalEventWindowMs,
  });
  // The circuit breakers report to the observer, which needs the metrics, which read the breakers.
  let observer: ReturnType<typeof createEngineObserver> | undefined;
  const health = createCredentialHealth(config.routing.health, (t) => observer?.circuit(t));
  const metrics = createWorkerMetrics({
    table,
    health,
    usageBuffered: () => usage.buffered,
    operationalDropped: () => events.dropped,
  });
  const usage = createUsageReporter({
    controlPlaneUrl: config.controlPlaneUrl,
    workerToken: config.workerToken,
    workerId: config.workerId,
    log,
    events,
    maxBuffered: config.usageBufferEvents,
    onDrop: (n) => metrics.usageDropped(n),
  });
  const engineObserver = createEngineObserver(metrics, events, log);
  observer = engineObserver;
  const engine = createRoutingEngine({
    ...config.routing,
    health,
    budget: createRetryBudget(config.routing.budget),
    observer: engineObserver,
  });
  const pools = createPools({
    connectionsPerOrigin: config.upstreamConnections,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.upstreamBodyTimeoutMs,
  });
  const keepalive = createKeepalive(config.ssePingMs);
  const tracing = await createTracing(config.tracing);
  // jose (OIDC) loads only when sessions are configured
  const sessions = config.oidc
    ? (await import("./http/session.js")).createSessionAuthenticator(config.oidc, table)
    : undefined;
  const web = createWorkerServer({
    table,
    pools,
    usage,
    engine,
    keepalive,
    log,
    maxBodyBytes: config.maxBodyBytes,
    sessions,
    requestTimeoutMs: config.routing.requestTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    commitAfterMs: config.ssePingMs,
    streamBroke(target, route, errorClass) {
      health.failure(target.credential, errorClass, undefined, Date.now());
      engineObserver.attemptFailed(
        target,
        { errorClass, status: 502, body: "", code: "upstream_stream_broken", upstreamStatus: 200 },
        route,
      );
    },
    metrics: createMetricsHandler(table, (inCluster() ? joinClusterMetrics : localMetrics)(metrics.registry)),
    prices: createPriceBook(table),
    observer: combineObservers([
      createRequestMetrics(metrics.registry, table, config.metrics),
      tracing.observer,
    ]),
    trustRequestId: config.trustRequestId,
    isDraining: () => draining,
    isReady: () => !draining && table.version > 0,
    tls: config.tls,
  });
  const status = startStatusReporter({
    controlPlaneUrl: config.controlPlaneUrl,
    workerToken: config.workerToken,
    workerId: config.workerId,
    buildVersion: BUILD_VERSION,
    table,
    intervalMs: config.statusReportMs,
    log,
    stats: () => ({
      activeRequests: web.active,
      usageBuffered: usage.buffered,
      usageDropped: usage.dropped,
      draining,
    }),
  });
  const sync = startTableSync({
    controlPlaneUrl: config.controlPlaneUrl,
    workerToken: config.workerToken,
    workerId: config.workerId,
    buildVersion: BUILD_VERSION,
    table,
    log,
    onApplied: () => status.changed(),
    // usage delivery may be in backoff from the outage: send what waited now
    onConnected: () => usage.retryNow(),
  });

  const { server } = web;
  if (opts.awaitTableMs !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sync.ready, new Promise((r) => (timer = setTimeout(r, opts.awaitTableMs)))]);
    clearTimeout(timer);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${config.tls ? "https" : "http"}://${config.host}:${port}`;
  log.info({ url, workerId: config.workerId }, "worker listening");
  return {
    url,
    port,
    table,
    sync,
    usage,
    health,
    metrics,
    async close() {
      draining = true;
      status.changed();
      log.info({ active: web.active, delayMs: config.drainDelayMs }, "draining: /readyz answers 503");
      const started = Date.now();
      if (config.drainDelayMs > 0) await new Promise((r) => setTimeout(r, config.drainDelayMs));
      server.close();
      server.closeIdleConnections();
      const timeout = new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(false), Math.max(0, config.drainTimeoutMs - (Date.now() - started))).unref(),
      );
      const drained = await Promise.race([web.idle().then(() => true), timeout]);
      if (!drained) log.warn({ active: web.active }, "drain timeout: closing requests still in flight");
      else log.info("drained: no request in flight");
      server.closeAllConnections();
      keepalive.close();
      sync.close();
      status.close();
      await usage.close();
      await pools.close();
      await tracing.shutdown();
    },
  };
}
