import type { DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Logger } from "../../../lib/src/logger.js";
import {
  IngestUsageRequestWireSchema,
  type IngestUsageResponseSchema,
  type OperationalEvent,
  WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { encodeUsageEvent, type UsageRecord } from "./encode.js";
import type { OperationalEvents } from "./operational-events.js";
import { Ring } from "./ring.js";

/**
 * WorkerService.IngestUsage (same path) with IngestUsageRequestWire as its
 * input: the events go as the bytes `encodeUsageEvent` made when each
 * request ended, the control plane reads them as UsageEvent messages.
 */
const INGEST_USAGE_WIRE: DescMethodUnary<
  typeof IngestUsageRequestWireSchema,
  typeof IngestUsageResponseSchema
> = { ...WorkerService.method.ingestUsage, input: IngestUsageRequestWireSchema };

export interface UsageReporterOptions {
  controlPlaneUrl: string;
  workerToken: string;
  workerId: string;
  log: Logger;
  /** Operational events to send along with usage. */
  events?: OperationalEvents;
  /** Events kept while the control plane is unreachable; beyond it the oldest are dropped and counted. */
  maxBuffered?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  /**
   * Longest wait between failed deliveries (backoff doubles from flushIntervalMs). Short, like the
   * routing-table stream's reconnects: at 2,700 req/s the default buffer holds 37 s of events, and
   * a backoff still running after the control plane came back would let it overflow.
   */
  maxBackoffMs?: number;
  /** Called for every event dropped because the buffer was full. */
  onDrop?: (count: number) => void;
}

/**
 * Batches usage events (and aggregated operational events) to IngestUsage.
 * A batch leaves the buffer only when acknowledged; failed batches go back to
 * the front and are retried with backoff (the control plane deduplicates by
 * request id and event id, so a retry after a lost acknowledgement counts
 * once). While the control plane is away the worker keeps serving and keeps
 * up to `maxBuffered` events in a ring; past that the oldest are dropped and
 * counted.
 */
export interface UsageReporter {
  /** Encodes a complete event (about 1 µs) and buffers its bytes. */
  record(event: UsageRecord): void;
  readonly buffered: number;
  readonly dropped: number;
  /** Sends everything buffered now; resolves when done or failed (never rejects). */
  flush(): Promise<void>;
  /**
   * The control plane is reachable again (the routing-table stream reconnected): ends a running
   * backoff and sends what waited. Does nothing when delivery is not backing off.
   */
  retryNow(): void;
  /** Stops the timer and flushes until empty or `timeoutMs` passes. */
  close(timeoutMs?: number): Promise<void>;
}

const MAX_OPERATIONAL_PER_CALL = 1000;
const MAX_OPERATIONAL_HELD = 10_000;

export function createUsageReporter(o: UsageReporterOptions): UsageReporter {
  const batchSize = o.batchSize ?? 1000;
  const intervalMs = o.flushIntervalMs ?? 1000;
  const maxBackoffMs = o.maxBackoffMs ?? 5_000;
  const transport = createConnectTransport({ baseUrl: o.controlPlaneUrl, httpVersion: "1.1" });
  const ingestUsage = (
    input: MessageInitShape<typeof IngestUsageRequestWireSchema>,
    call: { headers: Record<string, string>; timeoutMs: number },
  ) => transport.unary(INGEST_USAGE_WIRE, undefined, call.timeoutMs, call.headers, input, undefined);
  const headers = { authorization: `Bearer ${o.workerToken}` };
  const buffer = new Ring<Uint8Array>(o.maxBuffered ?? 50_000);
  let operational: OperationalEvent[] = [];
  let dropped = 0;
  let failures = 0;
  let nextTryAt = 0;
  let flushing: Promise<void> | undefined;
  let closed = false;

  const drop = (n: number) => {
    dropped += n;
    o.onDrop?.(n);
  };

  /** One IngestUsage call; the batch goes back to the front when it fails. Returns its size. */
  async function sendBatch(): Promise<number> {
    const batch = buffer.take(batchSize);
    const ops = operational.slice(0, MAX_OPERATIONAL_PER_CALL);
    try {
      await ingestUsage(
        { workerId: o.workerId, events: batch, operationalEvents: ops },
        { headers, timeoutMs: 10_000 },
      );
      operational = operational.slice(ops.length);
      return batch.length;
    } catch (err) {
      for (let i = batch.length - 1; i >= 0; i--) {
        if (!buffer.unshift(batch[i] as Uint8Array)) drop(1);
      }
      throw err;
    }
  }

  async function sendAll(): Promise<void> {
    if (o.events) {
      operational.push(...o.events.drain(closed));
      if (operational.length > MAX_OPERATIONAL_HELD) operational = operational.slice(-MAX_OPERATIONAL_HELD);
    }
    // What is buffered now, in batches. Events recorded meanwhile wait for the next flush: going
    // on while any are left would send a small batch per round trip under steady traffic.
    let due = buffer.size;
    while (due > 0 || operational.length > 0) due -= await sendBatch();
  }

  function flush(): Promise<void> {
    if (!flushing) {
      flushing = sendAll()
        .then(
          () => {
            failures = 0;
            nextTryAt = 0;
          },
          (err) => {
            failures++;
            nextTryAt = Date.now() + Math.min(maxBackoffMs, intervalMs * 2 ** failures);
            if (failures === 1 || failures % 10 === 0) {
              o.log.warn(
                { err: (err as Error).message, buffered: buffer.size, failures },
                "usage flush failed; will retry",
              );
            }
          },
        )
        .finally(() => {
          flushing = undefined;
        });
    }
    return flushing;
  }

  const timer = setInterval(() => {
    if (Date.now() >= nextTryAt) void flush();
  }, intervalMs);
  timer.unref();

  return {
    record(event) {
      if (buffer.push(encodeUsageEvent(event)) !== undefined) drop(1);
      if (buffer.size >= batchSize && nextTryAt === 0) void flush();
    },
    get buffered() {
      return buffer.size;
    },
    get dropped() {
      return dropped;
    },
    flush,
    retryNow() {
      if (nextTryAt === 0 || closed) return;
      nextTryAt = 0;
      void flush();
    },
    async close(timeoutMs = 10_000) {
      clearInterval(timer);
      closed = true;
      const until = Date.now() + timeoutMs;
      await flushing;
      while (Date.now() < until) {
        await flush();
        if (buffer.size === 0 && operational.length === 0) return;
        await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, until - Date.now()))));
      }
      if (buffer.size > 0) {
        o.log.error({ lost: buffer.size }, "usage events could not be delivered before shutdown");
      }
    },
  };
}
