import { randomBytes } from "node:crypto";
import { once } from "node:events";
import pg from "pg";
import { Pool } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateApiKey } from "../../lib/src/api-key.js";
import { type MockProvider, startMockProvider } from "../../mock-provider/src/server.js";
import { describeCluster } from "../helpers/cluster.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type GatewayProcess, spawnGateway } from "../helpers/processes.js";
import { seedRoute } from "../helpers/seed.js";

/**
 * Acceptance 4 of the routing engine (static stability): the control plane is
 * killed (SIGKILL) 10 s into a 60-second load and restarted 20 s later. No
 * client request fails, and once the worker has delivered its backlog the
 * usage rows equal the requests served, exactly (no loss, no duplicate).
 */
const LOAD_MS = 60_000;
const KILL_AT_MS = 10_000;
const RESTART_AT_MS = 30_000;
const CONCURRENCY = 8;
const SECRET = `sk-outage-${randomBytes(8).toString("hex")}`;

describeCluster("control plane outage under load", (services) => {
  let db: TestDatabase;
  let mock: MockProvider;
  let cp: GatewayProcess;
  let worker: GatewayProcess;
  let cpEnv: Record<string, string>;
  let cpPort = "";
  let workerUrl = "";
  let apiKey = "";
  let orgId = "";
  const adminKey = generateApiKey();

  beforeAll(async () => {
    db = await createTestDatabase();
    mock = await startMockProvider({ apiKey: SECRET, chunkCount: 4 });
    cpEnv = {
      ...db.env,
      REDIS_URL: services.redisUrl,
      LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      LLM_GATEWAY_WORKER_TOKEN: randomBytes(24).toString("hex"),
      LLM_GATEWAY_ADMIN_KEY: adminKey,
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
    };
    cp = spawnGateway(["control-plane"], cpEnv);
    const cpUrl = String((await cp.waitFor((l) => l.msg === "control plane listening")).url);
    cpPort = new URL(cpUrl).port;
    worker = spawnGateway(["worker"], {
      LLM_GATEWAY_CONTROL_PLANE_URL: cpUrl,
      LLM_GATEWAY_WORKER_TOKEN: cpEnv.LLM_GATEWAY_WORKER_TOKEN as string,
      LLM_GATEWAY_WORKER_PORT: "0",
    });
    workerUrl = String((await worker.waitFor((l) => l.msg === "worker listening")).url);

    ({ orgId, apiKey } = await seedRoute(cpUrl, adminKey, {
      slug: `outage-${randomBytes(3).toString("hex")}`,
      secret: SECRET,
      baseUrl: mock.url,
      model: "m",
    }));
    await worker.waitFor((l) => l.msg === "routing table updated" && Number(l.routes) > 0);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await cp?.stop();
    await mock?.close();
    await db?.drop();
  });

  it("serves every request while the control plane is down, and counts each exactly once", async () => {
    const pool = new Pool(workerUrl, { connections: CONCURRENCY });
    const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
    const outcomes = new Map<number | string, number>();
    const note = (k: number | string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    const t0 = performance.now();
    let stop = false;
    const loop = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const stream = (n + i) % 4 === 0; // a quarter of the traffic streams
        const body = JSON.stringify({
          model: "m",
          stream,
          messages: [{ role: "user", content: `${n}/${i}` }],
        });
        try {
          const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers, body });
          const text = await res.body.text();
          const complete = stream ? text.endsWith("data: [DONE]\n\n") : text.includes('"chat.completion"');
          note(res.statusCode === 200 && complete ? 200 : `failed ${res.statusCode}`);
        } catch (err) {
          note(`error ${(err as Error).message}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => loop(n)));

    await new Promise((r) => setTimeout(r, KILL_AT_MS));
    const killed = once(cp.proc, "exit");
    cp.proc.kill("SIGKILL");
    await killed;
    const downAt = performance.now() - t0;
    await new Promise((r) => setTimeout(r, RESTART_AT_MS - KILL_AT_MS));
    const mark = worker.lines.length;
    cp = spawnGateway(["control-plane"], { ...cpEnv, LLM_GATEWAY_CONTROL_PLANE_PORT: cpPort });
    await cp.waitFor((l) => l.msg === "control plane listening");
    const upAt = performance.now() - t0;
    await new Promise((r) => setTimeout(r, Math.max(0, LOAD_MS - (performance.now() - t0))));
    stop = true;
    await load;
    await pool.close();

    const served = outcomes.get(200) ?? 0;
    const failures = [...outcomes.entries()].filter(([k]) => k !== 200);
    console.log(
      `control plane down from ${(downAt / 1000).toFixed(1)} s to ${(upAt / 1000).toFixed(1)} s; ` +
        `${served} requests served in ${(LOAD_MS / 1000).toFixed(0)} s, failures: ${JSON.stringify(failures)}`,
    );
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(1000);
    // The worker noticed the outage, kept serving, and resumed its stream.
    expect(worker.lines.some((l) => l.msg === "usage flush failed; will retry")).toBe(true);
    await worker.waitFor((l) => l.msg === "routing table updated", 30_000, mark);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      let rows = -1;
      const loadEnded = performance.now();
      for (let i = 0; i < 300 && rows !== served; i++) {
        const r = await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM usage_events WHERE org_id = $1",
          [orgId],
        );
        rows = Number(r.rows[0]?.n);
        if (rows !== served) await new Promise((r) => setTimeout(r, 100));
      }
      const caughtUp = ((performance.now() - loadEnded) / 1000).toFixed(1);
      console.log(`usage rows: ${rows} for ${served} requests served, ${caughtUp} s after the load ended`);
      expect(rows).toBe(served);
      const errors = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM usage_events WHERE org_id = $1 AND status_code <> 200",
        [orgId],
      );
      expect(Number(errors.rows[0]?.n)).toBe(0);
    } finally {
      await client.end();
    }
  }, 180_000);
});
