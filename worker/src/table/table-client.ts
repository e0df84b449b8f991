import { hostname } from "node:os";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Logger } from "../../../lib/src/logger.js";
import { WorkerService } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { RoutingTable } from "./routing-table.js";

export interface TableSyncOptions {
  controlPlaneUrl: string;
  workerToken: string;
  workerId: string;
  buildVersion: string;
  table: RoutingTable;
  log: Logger;
  /** Reconnect when nothing (not even a heartbeat) arrived for this long. */
  staleAfterMs?: number;
  /** Called after a snapshot or delta was applied. */
  onApplied?: () => void;
  /** Called when the stream is up again: its first message after a (re)connect. */
  onConnected?: () => void;
}

export interface TableSync {
  /** Resolves once the first table has been applied. */
  ready: Promise<void>;
  readonly connected: boolean;
  close(): void;
}

/**
 * Keeps the routing table in sync over WatchRoutingTable. Reconnects with
 * capped, jittered backoff and resumes from the version it holds; while the
 * control plane is away the worker keeps serving the last table (static
 * stability).
 */
export function startTableSync(o: TableSyncOptions): TableSync {
  const transport = createConnectTransport({ baseUrl: o.controlPlaneUrl, httpVersion: "1.1" });
  const client = createClient(WorkerService, transport);
  const headers = { authorization: `Bearer ${o.workerToken}` };
  let stopped = false;
  let connected = false;
  let current: AbortController | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let staleAfterMs = o.staleAfterMs ?? 45_000;

  async function watchOnce(): Promise<void> {
    const abort = new AbortController();
    current = abort;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(new Error("routing-table stream went silent")), staleAfterMs);
      watchdog.unref();
    };
    arm();
    try {
      const stream = client.watchRoutingTable(
        {
          workerId: o.workerId,
          knownVersion: BigInt(o.table.version),
          hostname: hostname(),
          buildVersion: o.buildVersion,
        },
        { signal: abort.signal, headers },
      );
      for await (const message of stream) {
        arm();
        const before = o.table.version;
        o.table.apply(message);
        if (message.payload.case === "heartbeat") {
          staleAfterMs = o.staleAfterMs ?? message.payload.value.intervalSeconds * 3000;
        } else {
          o.log.info(
            { kind: message.payload.case, from: before, version: o.table.version, ...o.table.stats() },
            "routing table updated",
          );
          markReady();
          o.onApplied?.();
        }
        if (!connected) {
          connected = true;
          o.log.info({ version: o.table.version }, "connected to control plane");
          o.onConnected?.();
        }
      }
    } finally {
      clearTimeout(watchdog);
      connected = false;
    }
  }

  (async () => {
    let backoff = 200;
    while (!stopped) {
      const started = Date.now();
      try {
        await watchOnce();
      } catch (err) {
        if (stopped) break;
        o.log.warn(
          { err: (err as Error).message, version: o.table.version },
          "routing-table stream failed; serving last table",
        );
      }
      if (Date.now() - started > 10_000) backoff = 200; // it had been healthy: start over
      const delay = backoff / 2 + Math.random() * (backoff / 2);
      backoff = Math.min(backoff * 2, 5000);
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  })();

  return {
    ready,
    get connected() {
      return connected;
    },
    close() {
      stopped = true;
      current?.abort();
    },
  };
}
