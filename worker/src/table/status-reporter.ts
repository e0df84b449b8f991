import { hostname } from "node:os";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Logger } from "../../../lib/src/logger.js";
import { WorkerService } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { RoutingTable } from "./routing-table.js";

export interface WorkerStats {
  activeRequests: number;
  usageBuffered: number;
  usageDropped: number;
  draining: boolean;
}

export interface StatusReporterOptions {
  controlPlaneUrl: string;
  workerToken: string;
  workerId: string;
  buildVersion: string;
  table: RoutingTable;
  intervalMs: number;
  stats: () => WorkerStats;
  log: Logger;
}

export interface StatusReporter {
  /** Reports soon: the table version changed, or the worker started draining. */
  changed(): void;
  close(): void;
}

/**
 * Tells the control plane which routing-table version this worker runs (and
 * its load and usage backlog) through ReportWorkerStatus: after every change
 * it applies and every `intervalMs`. Reports never overlap; a failure is
 * logged once per outage and retried at the next occasion.
 */
export function startStatusReporter(o: StatusReporterOptions): StatusReporter {
  const client = createClient(
    WorkerService,
    createConnectTransport({ baseUrl: o.controlPlaneUrl, httpVersion: "1.1" }),
  );
  const headers = { authorization: `Bearer ${o.workerToken}` };
  const host = hostname();
  let inFlight = false;
  let again = false;
  let failing = false;
  let stopped = false;

  async function report(): Promise<void> {
    if (stopped) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      do {
        again = false;
        const s = o.stats();
        await client.reportWorkerStatus(
          {
            workerId: o.workerId,
            hostname: host,
            buildVersion: o.buildVersion,
            version: BigInt(o.table.version),
            activeRequests: s.activeRequests,
            usageBuffered: s.usageBuffered,
            usageDropped: BigInt(s.usageDropped),
            draining: s.draining,
          },
          { headers, timeoutMs: 5000 },
        );
        if (failing) o.log.info("worker status reports delivered again");
        failing = false;
      } while (again && !stopped);
    } catch (err) {
      if (!failing) o.log.warn({ err: (err as Error).message }, "worker status report failed; will retry");
      failing = true;
    } finally {
      inFlight = false;
    }
  }

  const timer = setInterval(() => void report(), o.intervalMs);
  timer.unref();
  return {
    changed: () => void report(),
    close() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
