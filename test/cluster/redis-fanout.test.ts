import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../../control-plane/src/config.js";
import { type ControlPlane, startControlPlane } from "../../control-plane/src/main.js";
import { generateApiKey } from "../../lib/src/api-key.js";
import { createLogger } from "../../lib/src/logger.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import {
  type WatchRoutingTableResponse,
  WorkerService,
} from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { describeCluster } from "../helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

/** How fast a change must reach a stream on another replica through Redis. */
const BOUND_MS = 250;

/** A routing-table stream whose messages can be awaited with a deadline. */
function watch(cp: ControlPlane, workerToken: string) {
  const abort = new AbortController();
  const client = createClient(WorkerService, createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }));
  const received: WatchRoutingTableResponse[] = [];
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for await (const m of client.watchRoutingTable(
        { workerId: "cluster-test-worker", knownVersion: 0n },
        { headers: { authorization: `Bearer ${workerToken}` }, signal: abort.signal },
      )) {
        received.push(m);
        wake?.();
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  return {
    /** The next snapshot or delta (heartbeats skipped), or undefined after `timeoutMs`. */
    async next(timeoutMs: number): Promise<WatchRoutingTableResponse | undefined> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = received.shift();
        if (m && m.payload.case !== "heartbeat") return m;
        if (m) continue;
        const left = end - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
    close: () => abort.abort(),
  };
}

describeCluster("Redis change fan-out between control-plane replicas", ({ redisUrl }) => {
  let db: TestDatabase;
  const adminKey = generateApiKey();
  const workerToken = randomBytes(24).toString("hex");
  const masterKey = randomBytes(32).toString("base64");
  const logLines: string[] = [];
  const running: ControlPlane[] = [];
  const streams: Array<{ close(): void }> = [];

  /** A replica on the shared database; the version poll is slowed to a minute so it cannot deliver. */
  async function replica(id: string, env: Record<string, string>): Promise<ControlPlane> {
    const cp = await startControlPlane(
      loadControlPlaneConfig({
        ...db.env,
        LLM_GATEWAY_MASTER_KEY: masterKey,
        LLM_GATEWAY_WORKER_TOKEN: workerToken,
        LLM_GATEWAY_ADMIN_KEY: adminKey,
        LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
        LLM_GATEWAY_VERSION_POLL_MS: "60000",
        LLM_GATEWAY_REPLICA_ID: id,
        ...env,
      }),
      createLogger(id, "debug", { write: (line: string) => void logLines.push(line) }),
    );
    running.push(cp);
    return cp;
  }

  const createOrg = (cp: ControlPlane) =>
    createClient(OrganizationService, createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }))
      .createOrganization(
        { slug: `fanout-${randomBytes(4).toString("hex")}`, reason: "fan-out test" },
        { headers: { authorization: `Bearer ${adminKey}` } },
      )
      .then((r) => r.organization?.id ?? "");

  /** Commits a change on `a` and measures until `b`'s stream carries it (undefined: not within the bound). */
  async function propagation(a: ControlPlane, b: ControlPlane): Promise<number | undefined> {
    const stream = watch(b, workerToken);
    streams.push(stream);
    expect((await stream.next(10_000))?.payload.case).toBe("snapshot");
    const orgId = await createOrg(a);
    const committed = performance.now();
    const message = await stream.next(BOUND_MS);
    if (!message) return undefined;
    expect(message.payload.case).toBe("delta");
    const changes = message.payload.case === "delta" ? message.payload.value.changes : [];
    expect(changes.map((c) => c.change.case === "upsertOrganization" && c.change.value.id)).toContain(orgId);
    return performance.now() - committed;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    for (const cp of running.splice(0)) await cp.close();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("delivers a change committed on replica A to a stream on replica B within the bound", async () => {
    const channel = `llm-gateway:test:${randomBytes(6).toString("hex")}`;
    const env = { REDIS_URL: redisUrl, LLM_GATEWAY_REDIS_CHANNEL: channel };
    const a = await replica("cp-a", env);
    const b = await replica("cp-b", env);
    for (let round = 0; round < 3; round++) {
      const ms = await propagation(a, b);
      expect(ms, `round ${round}`).toBeDefined();
      expect(ms).toBeLessThan(BOUND_MS);
    }
  });

  it("negative control: without REDIS_URL the same change does not arrive within the bound", async () => {
    const a = await replica("cp-a-alone", {});
    const b = await replica("cp-b-alone", {});
    expect(await propagation(a, b)).toBeUndefined();
  });

  it("resubscribes after losing its Redis connection, logging the loss and the recovery once", async () => {
    const channel = `llm-gateway:test:${randomBytes(6).toString("hex")}`;
    const env = { REDIS_URL: redisUrl, LLM_GATEWAY_REDIS_CHANNEL: channel };
    const a = await replica("cp-a-kill", env);
    const b = await replica("cp-b-kill", env);
    const admin = new Redis(redisUrl);
    try {
      const clients = String(await admin.client("LIST")).split("\n");
      const subscriber = clients.find((l) => l.includes("name=llm-gateway-cp:cp-b-kill:sub"));
      const id = /\bid=(\d+)/.exec(subscriber ?? "")?.[1];
      expect(id).toBeDefined();
      await admin.client("KILL", "ID", id ?? "");
    } finally {
      admin.disconnect();
    }
    const ofB = (text: string) => logLines.filter((l) => l.includes('"cp-b-kill"') && l.includes(text));
    const deadline = Date.now() + 10_000;
    while (ofB("fan-out reconnected").length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ofB("fan-out lost")).toHaveLength(1);
    expect(ofB("fan-out reconnected")).toHaveLength(1);
    const ms = await propagation(a, b);
    expect(ms).toBeDefined();
    expect(ms).toBeLessThan(BOUND_MS);
  });
});
