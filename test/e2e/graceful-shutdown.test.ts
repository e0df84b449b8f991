import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../lib/src/api-key.js";
import { type MockProvider, startMockProvider } from "../../mock-provider/src/server.js";
import { AnalyticsService } from "../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type GatewayProcess, spawnGateway } from "../helpers/processes.js";
import { seedRoute } from "../helpers/seed.js";

/**
 * Acceptance 5 of the routing engine: SIGTERM to a worker process with 50
 * streams open. /readyz turns 503 at once, every stream runs to its [DONE],
 * then the worker flushes usage and exits 0.
 */
const STREAMS = 50;
const CHUNKS = 64;
const SECRET = `sk-drain-${randomBytes(8).toString("hex")}`;

let db: TestDatabase;
let mock: MockProvider;
let cp: GatewayProcess;
let worker: GatewayProcess;
let workerUrl = "";
let apiKey = "";
let orgId = "";
let analytics: ReturnType<typeof createClient<typeof AnalyticsService>>;
const adminKey = generateApiKey();
const call = { headers: { authorization: `Bearer ${adminKey}` } };

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockProvider({ apiKey: SECRET, chunkCount: CHUNKS, chunkIntervalMs: 40 });
  const workerToken = randomBytes(24).toString("hex");
  cp = spawnGateway(["control-plane"], {
    ...db.env,
    LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
    LLM_GATEWAY_WORKER_TOKEN: workerToken,
    LLM_GATEWAY_ADMIN_KEY: adminKey,
    LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
  });
  const cpUrl = String((await cp.waitFor((l) => l.msg === "control plane listening")).url);
  worker = spawnGateway(["worker"], {
    LLM_GATEWAY_CONTROL_PLANE_URL: cpUrl,
    LLM_GATEWAY_WORKER_TOKEN: workerToken,
    LLM_GATEWAY_WORKER_PORT: "0",
    LLM_GATEWAY_DRAIN_DELAY_MS: "1000",
  });
  workerUrl = String((await worker.waitFor((l) => l.msg === "worker listening")).url);

  const transport = createConnectTransport({ baseUrl: cpUrl, httpVersion: "2" });
  analytics = createClient(AnalyticsService, transport);
  ({ orgId, apiKey } = await seedRoute(cpUrl, adminKey, {
    slug: `drain-${randomBytes(3).toString("hex")}`,
    secret: SECRET,
    baseUrl: mock.url,
    model: "slow",
  }));
  await worker.waitFor((l) => l.msg === "routing table updated" && Number(l.routes) > 0);
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await cp?.stop();
  await mock?.close();
  await db?.drop();
});

/** Opens a stream; resolves `started` at its first bytes and `done` with the whole body. */
function openStream() {
  let markStarted!: () => void;
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  const done = (async () => {
    const res = await fetch(`${workerUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    let body = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      body += decoder.decode(chunk, { stream: true });
      markStarted();
    }
    return { status: res.status, body, endedAt: performance.now() };
  })();
  return { started, done };
}

describe("graceful shutdown", () => {
  it(`finishes all ${STREAMS} open streams after SIGTERM, then exits`, async () => {
    const streams = Array.from({ length: STREAMS }, openStream);
    await Promise.all(streams.map((s) => s.started));
    const exited = once(worker.proc, "exit");
    worker.proc.kill("SIGTERM");
    const signalledAt = performance.now();

    await worker.waitFor((l) => l.msg === "draining: /readyz answers 503");
    const ready = await fetch(`${workerUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe("draining\n");

    const results = await Promise.all(streams.map((s) => s.done));
    const expected = Array.from({ length: CHUNKS }, (_, i) => `tok${i}`).join(" ");
    for (const r of results) {
      expect(r.status).toBe(200);
      const content = r.body
        .split("\n\n")
        .filter((e) => e.startsWith("data: {"))
        .map(
          (e) =>
            (JSON.parse(e.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
              ?.content ?? "",
        )
        .join("");
      expect(content).toBe(expected);
      expect(r.body.endsWith("data: [DONE]\n\n")).toBe(true);
    }
    // The streams outlived the signal by more than a second: they were not cut short.
    expect(Math.min(...results.map((r) => r.endedAt)) - signalledAt).toBeGreaterThan(1000);

    const [code] = await exited;
    expect(code).toBe(0);
    expect(worker.lines.some((l) => l.msg === "drained: no request in flight")).toBe(true);

    // Every stream's usage was flushed before the exit.
    const now = Date.now();
    const overview = await analytics.getOverview(
      {
        orgId,
        range: { startTime: timestampFromMs(now - 3600_000), endTime: timestampFromMs(now + 60_000) },
      },
      call,
    );
    expect(Number(overview.requests)).toBe(STREAMS);
  }, 60_000);
});
