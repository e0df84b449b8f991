import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../lib/src/api-key.js";
import { type MockProvider, startMockProvider } from "../../mock-provider/src/server.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { MALLOC_ENV, NODE_FLAGS } from "../../worker/src/heap.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type GatewayProcess, type LogLine, spawnGateway } from "../helpers/processes.js";
import { seedRoute } from "../helpers/seed.js";

/**
 * `llm-gateway worker` with LLM_GATEWAY_WORKER_PROCESSES=2: one port served
 * by two processes (connections handed out in turn), metrics summed over
 * both whichever process a scrape lands on, a killed process restarted, and
 * SIGTERM draining every process's streams before the primary exits 0.
 */
const SECRET = `sk-cluster-${randomBytes(8).toString("hex")}`;
const REQUESTS = 120;

let db: TestDatabase;
let mock: MockProvider;
let cp: GatewayProcess;
let worker: GatewayProcess;
let workerUrl = "";
let apiKey = "";
let metricsToken = "";
/** one TCP connection per request, so node:cluster spreads them over the processes */
const fresh = new Agent({ keepAlive: false });

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${workerUrl}${path}`,
      {
        method: "POST",
        agent: fresh,
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function scrape(): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${workerUrl}/metrics/ai-gateway`,
      { agent: fresh, headers: { authorization: `Bearer ${metricsToken}` } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const chat = { model: "cluster-model", messages: [{ role: "user", content: "hi" }] };
const sum = (text: string, metric: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
const listeningPids = (lines: LogLine[]) =>
  new Set(lines.filter((l) => l.msg === "worker listening").map((l) => Number(l.pid)));

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await startMockProvider({ apiKey: SECRET, chunkCount: 32, chunkIntervalMs: 40 });
  const workerToken = randomBytes(24).toString("hex");
  const adminKey = generateApiKey();
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
    LLM_GATEWAY_WORKER_PROCESSES: "2",
  });
  await worker.waitFor((l) => l.msg === "worker cluster primary started");
  workerUrl = String((await worker.waitFor((l) => l.msg === "worker listening")).url);
  ({ apiKey } = await seedRoute(cpUrl, adminKey, {
    slug: `cluster-${randomBytes(3).toString("hex")}`,
    secret: SECRET,
    baseUrl: mock.url,
    model: "cluster-model",
  }));
  const transport = createConnectTransport({ baseUrl: cpUrl, httpVersion: "2" });
  const created = await createClient(MetricsTokenService, transport).createMetricsToken(
    { name: "prometheus", reason: "test" },
    { headers: { authorization: `Bearer ${adminKey}` } },
  );
  metricsToken = created.token;
  // both processes serve the route and know the metrics token
  const start = Date.now();
  for (;;) {
    const synced = worker.lines.filter((l) => l.msg === "routing table updated" && Number(l.routes) > 0);
    if (new Set(synced.map((l) => l.pid)).size >= 2 && (await scrape()).status === 200) break;
    if (Date.now() - start > 20_000) throw new Error("the two worker processes did not sync");
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  fresh.destroy();
  await worker?.stop();
  await cp?.stop();
  await mock?.close();
  await db?.drop();
});

describe("worker cluster (2 processes)", () => {
  it("runs two worker processes with their own ids on one port", () => {
    const pids = listeningPids(worker.lines);
    expect(pids.size).toBe(2);
    expect(pids.has(worker.proc.pid ?? 0)).toBe(false);
    const ids = new Set(worker.lines.filter((l) => l.msg === "worker listening").map((l) => l.workerId));
    expect(ids.size).toBe(2);
    // the primary hands its processes the malloc settings the image sets and node's command line
    // with the gateway's V8 flags (worker/src/heap.ts)
    for (const pid of pids) {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      expect(environ).toContain(
        `MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? MALLOC_ENV.MALLOC_ARENA_MAX}`,
      );
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      for (const flag of NODE_FLAGS) expect(argv).toContain(flag);
    }
  });

  it("sums the metrics of both processes, whichever one answers the scrape", async () => {
    const statuses = await Promise.all(
      Array.from({ length: REQUESTS }, () => post("/v1/chat/completions", chat)),
    );
    expect(statuses.every((s) => s.status === 200)).toBe(true);
    // every scrape on its own connection: they land on both processes in turn
    for (let i = 0; i < 6; i++) {
      const { status, body } = await scrape();
      expect(status).toBe(200);
      expect(sum(body, "llm_gateway_requests_total")).toBe(REQUESTS);
      expect(sum(body, "llm_gateway_request_duration_seconds_count")).toBe(REQUESTS);
      expect(sum(body, "llm_gateway_routing_table_version")).toBeGreaterThan(0);
      // gauges copied from the routing table are not doubled
      expect(body.match(/^llm_gateway_routing_table_version /gm)?.length).toBe(1);
    }
  });

  it("restarts a worker process that dies; the port keeps serving", async () => {
    const before = listeningPids(worker.lines);
    const victim = [...before][0] as number;
    process.kill(victim, "SIGKILL");
    await worker.waitFor((l) => l.msg === "worker process exited" && Number(l.pid) === victim);
    for (let i = 0; i < 20; i++) expect((await post("/v1/chat/completions", chat)).status).toBe(200);
    const restarted = await worker.waitFor(
      (l) => l.msg === "worker listening" && !before.has(Number(l.pid)),
      20_000,
    );
    expect(listeningPids(worker.lines).size).toBe(3);
    // it serves once its routing table has arrived
    await worker.waitFor(
      (l) => l.msg === "routing table updated" && Number(l.routes) > 0 && l.pid === restarted.pid,
      20_000,
    );
  });

  it("SIGTERM drains the streams of every process, then the primary exits 0", async () => {
    const streams = Array.from({ length: 20 }, () => post("/v1/chat/completions", { ...chat, stream: true }));
    await new Promise((r) => setTimeout(r, 300));
    const exited = once(worker.proc, "exit");
    worker.proc.kill("SIGTERM");
    const bodies = await Promise.all(streams);
    for (const b of bodies) {
      expect(b.status).toBe(200);
      expect(b.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    }
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
