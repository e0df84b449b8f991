import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Logger } from "../../../lib/src/logger.js";
import {
  type UsageEvent,
  UsageEventSchema,
  WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";

export type UsageInit = Parameters<typeof create<typeof UsageEventSchema>>[1];

export interface UsageReporterOptions {
  controlPlaneUrl: string;
  workerToken: string;
  workerId: string;
  log: Logger;
  /** Events kept while the control plane is unreachable; beyond it the oldest are dropped and counted. */
  maxBuffered?: number;
  batchSize?: number;
  flushIntervalMs?: number;
}

/**
 * Batches usage events to IngestUsage. Acknowledged batches leave the buffer;
 * failed ones stay and are retried (the control plane deduplicates by
 * request id, so a retry after a lost acknowledgement counts once).
 */
export interface UsageReporter {
  record(event: UsageInit): void;
  readonly buffered: number;
  readonly dropped: number;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createUsageReporter(o: UsageReporterOptions): UsageReporter {
  const maxBuffered = o.maxBuffered ?? 50_000;
  const batchSize = o.batchSize ?? 1000;
  const client: Client<typeof WorkerService> = createClient(
    WorkerService,
    createConnectTransport({ baseUrl: o.controlPlaneUrl, httpVersion: "1.1" }),
  );
  const headers = { authorization: `Bearer ${o.workerToken}` };
  let buffer: UsageEvent[] = [];
  let dropped = 0;
  let flushing: Promise<void> | undefined;

  async function sendAll(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, batchSize);
      await client.ingestUsage({ workerId: o.workerId, events: batch }, { headers, timeoutMs: 10_000 });
      buffer = buffer.slice(batch.length);
    }
  }

  function flush(): Promise<void> {
    if (!flushing) {
      flushing = sendAll()
        .catch((err) =>
          o.log.warn(
            { err: (err as Error).message, buffered: buffer.length },
            "usage flush failed; will retry",
          ),
        )
        .finally(() => {
          flushing = undefined;
        });
    }
    return flushing;
  }

  const timer = setInterval(() => void flush(), o.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    record(event) {
      if (buffer.length >= maxBuffered) {
        buffer.shift();
        dropped++;
      }
      buffer.push(create(UsageEventSchema, event));
      if (buffer.length >= batchSize) void flush();
    },
    get buffered() {
      return buffer.length;
    },
    get dropped() {
      return dropped;
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      if (buffer.length > 0) await flush();
    },
  };
}
