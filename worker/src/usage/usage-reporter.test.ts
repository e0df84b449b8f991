import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/src/logger.js";
import { WorkerService } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { UsageRecord } from "./encode.js";
import { createUsageReporter } from "./usage-reporter.js";

/** A control plane that takes `latencyMs` per IngestUsage call and counts calls and events. */
const cp = { calls: 0, events: 0, latencyMs: 30, failNext: 0 };
const server = createServer(
  connectNodeAdapter({
    routes: (router) =>
      router.service(WorkerService, {
        async ingestUsage(req) {
          await new Promise((r) => setTimeout(r, cp.latencyMs));
          if (cp.failNext > 0) {
            cp.failNext--;
            throw new ConnectError("down for a moment", 14);
          }
          cp.calls++;
          cp.events += req.events.length;
          return {};
        },
      }),
  }),
);
let url = "";
beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const event = (i: number): UsageRecord => ({
  requestId: `r${i}`,
  orgId: "o",
  apiKeyId: "k",
  userId: "",
  provider: "openai",
  credentialId: "c",
  requestedModel: "m",
  servedModel: "m",
  requestType: "chat",
  streamed: false,
  statusCode: 200,
  errorCode: "",
  promptTokens: 1,
  completionTokens: 2,
  cachedTokens: 0,
  reasoningTokens: 0,
  startedAtMs: 1_764_440_000_000 + i,
  durationMs: 1,
  providerDurationMs: 1,
  timeToFirstTokenMs: 0,
  attempts: 1,
  routingVersion: 1,
  estimatedCostUsd: 0,
  errorClass: 0,
  fallbackDepth: 0,
});

const reporter = (flushIntervalMs: number) =>
  createUsageReporter({
    controlPlaneUrl: url,
    workerToken: "t",
    workerId: "w",
    log: createLogger("test", "silent"),
    flushIntervalMs,
    batchSize: 1000,
    maxBackoffMs: 100,
  });

describe("usage reporter", () => {
  it("sends steady traffic in one call per flush, not one per round trip", async () => {
    Object.assign(cp, { calls: 0, events: 0, latencyMs: 30 });
    const r = reporter(200);
    // 2,000 events over about a second: 20 every 10 ms
    for (let t = 0; t < 100; t++) {
      for (let i = 0; i < 20; i++) r.record(event(t * 20 + i));
      await new Promise((res) => setTimeout(res, 10));
    }
    await r.close(5000);
    expect(cp.events).toBe(2000);
    // about one call per 200 ms tick; one per 30 ms round trip would be 30 or more
    expect(cp.calls).toBeLessThanOrEqual(12);
    expect(r.buffered).toBe(0);
  });

  it("keeps the events of a failed call and delivers them later, in full", async () => {
    Object.assign(cp, { calls: 0, events: 0, latencyMs: 1, failNext: 2 });
    const r = reporter(50);
    for (let i = 0; i < 300; i++) r.record(event(i));
    await r.close(5000);
    expect(cp.events).toBe(300);
    expect(r.dropped).toBe(0);
  });

  it("ends its backoff at once when told the control plane is back", async () => {
    Object.assign(cp, { calls: 0, events: 0, latencyMs: 1, failNext: 4 });
    const r = createUsageReporter({
      controlPlaneUrl: url,
      workerToken: "t",
      workerId: "w",
      log: createLogger("test", "silent"),
      flushIntervalMs: 1000,
      maxBackoffMs: 60_000,
    });
    for (let i = 0; i < 10; i++) r.record(event(i));
    for (let i = 0; i < 4; i++) await r.flush(); // four failures: the next try is 16 s away
    await new Promise((res) => setTimeout(res, 1200));
    expect(cp.events).toBe(0);
    r.retryNow();
    await expect.poll(() => cp.events, { timeout: 1000 }).toBe(10);
    r.retryNow(); // not backing off any more: nothing to do
    await r.close(1000);
    expect(cp.calls).toBe(1);
  });

  it("makes no call while there is nothing to send", async () => {
    Object.assign(cp, { calls: 0, events: 0, latencyMs: 1 });
    const r = reporter(20);
    await new Promise((res) => setTimeout(res, 200));
    await r.close(1000);
    expect(cp.calls).toBe(0);
  });
});
