/**
 * What the harness measures, all against one mock provider: the mock itself
 * (baseline), a TCP relay (the floor of one extra hop), a bare undici proxy
 * (the Node limit), the gateway with its default features (authentication,
 * routing, metrics, usage accounting) in one process and in two
 * (LLM_GATEWAY_WORKER_PROCESSES=2), the gateway whose control plane uses
 * Redis, and Portkey (the peer).
 */
import { connect } from "node:net";
import { join } from "node:path";
import { seedRoute } from "../../test/helpers/seed.js";
import {
  type GatewaySecrets,
  gatewaySecrets,
  type Started,
  startControlPlane,
  startMock,
  startWorker,
  THIS_DIST,
} from "../lib/gateway.js";
import { childPids, freePort, spawnTracked, spawnUntilListening, waitUntil } from "../lib/process.js";
import { installPortkey, startPortkey } from "./portkey.js";

export type Role = "baseline" | "hop-floor" | "node-limit" | "subject" | "peer";

export interface Target {
  name: string;
  role: Role;
  /** chat completions URL */
  url: string;
  headers: Record<string, string>;
  /** the processes whose memory is the target's */
  pids: number[];
  /** processes behind it, reported apart (control plane, Redis) */
  support: Record<string, number>;
  /** the last lines its process logged, when errors need explaining */
  log?: string[];
}

export interface Unavailable {
  name: string;
  role: Role;
  error: string;
}

export interface Setup {
  targets: Target[];
  unavailable: Unavailable[];
  /** the mock's URL, ending in /v1 */
  mockUrl: string;
  notes: Record<string, string>;
}

export interface SetupOptions {
  dist: string;
  databaseUrl: string;
  /** REDIS_URL to use; undefined: start a redis-server on a free loopback port */
  redisUrl: string | undefined;
  /** npm version spec of @portkey-ai/gateway; undefined: no peer */
  portkeySpec: string | undefined;
  scratchDir: string;
  /** extra worker environment */
  workerEnv: Record<string, string>;
}

export const MODEL = "bench-model";
export const chatBody = (stream = false) =>
  JSON.stringify({
    model: MODEL,
    messages: [{ role: "user", content: "Hello there!" }],
    ...(stream ? { stream: true } : {}),
  });

/** One chat completion; resolves with the status (the body read and dropped). */
export async function postChat(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: chatBody(),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Replaces the mock's fault rules (timing-only rules pace its streams). */
export async function setMockRules(mockUrl: string, rules: unknown[]): Promise<void> {
  const res = await fetch(`${mockUrl}/__mock/faults`, { method: "PUT", body: JSON.stringify(rules) });
  if (res.status !== 200) throw new Error(`PUT /__mock/faults: ${res.status} ${await res.text()}`);
}

function redisPing(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname, () => socket.write("PING\r\n"));
    socket.setTimeout(1000, () => socket.destroy());
    socket.once("data", (d) => {
      resolve(d.toString().startsWith("+PONG"));
      socket.end();
    });
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

async function redis(given: string | undefined): Promise<{ url: string; pid?: number; note: string }> {
  if (given) return { url: given, note: "REDIS_URL from the environment" };
  const port = await freePort();
  const child = spawnTracked(
    "redis",
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {},
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil("redis-server", () => redisPing(url), 10_000);
  return { url, pid: child.pid, note: `redis-server started on 127.0.0.1:${port}` };
}

async function gatewayTarget(
  name: string,
  o: SetupOptions,
  s: GatewaySecrets,
  controlPlane: Started,
  apiKey: string,
  support: Record<string, number>,
  processes = 1,
): Promise<Target> {
  const env = { ...o.workerEnv, LLM_GATEWAY_WORKER_PROCESSES: String(processes) };
  const worker = await startWorker(o.dist, controlPlane.url, s, env, `${name}-worker`);
  const url = `${worker.url}/v1/chat/completions`;
  const headers = { Authorization: `Bearer ${apiKey}` };
  await waitUntil(`${name} route`, async () => (await postChat(url, headers)) === 200);
  let children: number[] = [];
  if (processes > 1) {
    // each worker process listens once its routing table arrived
    await waitUntil(`${name} processes`, async () => {
      children = childPids(worker.child.pid);
      return (
        children.length === processes &&
        worker.child.tail.filter((l) => l.includes('"worker listening"')).length === processes
      );
    });
  }
  return {
    name,
    role: "subject",
    url,
    headers,
    pids: [worker.child.pid, ...children],
    support: { controlPlane: controlPlane.child.pid, ...support },
  };
}

/** Starts every target; a peer that cannot be installed or started is listed in `unavailable`. */
export async function startTargets(o: SetupOptions): Promise<Setup> {
  const s = gatewaySecrets();
  const notes: Record<string, string> = {};
  const mock = await startMock(s.secret);
  const mockOrigin = new URL(mock.url).origin;
  const targets: Target[] = [
    {
      name: "mock",
      role: "baseline",
      url: `${mock.url}/chat/completions`,
      headers: { Authorization: `Bearer ${s.secret}` },
      pids: [mock.child.pid],
      support: {},
    },
  ];
  const proxy = await spawnUntilListening(
    "undici-proxy",
    process.execPath,
    [join(THIS_DIST, "bench", "harness", "undici-proxy.js"), mockOrigin],
    {},
    "undici proxy listening",
  );
  targets.push({
    name: "undici-proxy",
    role: "node-limit",
    url: `${proxy.url}${new URL(mock.url).pathname}/chat/completions`,
    headers: { Authorization: `Bearer ${s.secret}` },
    pids: [proxy.child.pid],
    support: {},
  });

  const relay = await spawnUntilListening(
    "tcp-relay",
    process.execPath,
    [join(THIS_DIST, "bench", "harness", "tcp-relay.js"), mockOrigin],
    {},
    "tcp relay listening",
  );
  targets.push({
    name: "tcp-relay",
    role: "hop-floor",
    url: `${relay.url}${new URL(mock.url).pathname}/chat/completions`,
    headers: { Authorization: `Bearer ${s.secret}` },
    pids: [relay.child.pid],
    support: {},
  });

  const cp = await startControlPlane(o.dist, o.databaseUrl, s);
  const seeded = await seedRoute(cp.url, s.adminKey, {
    slug: "bench",
    secret: s.secret,
    baseUrl: mock.url,
    model: MODEL,
  });
  targets.push(await gatewayTarget("gateway", o, s, cp, seeded.apiKey, {}));
  targets.push(await gatewayTarget("gateway-2proc", o, s, cp, seeded.apiKey, {}, 2));

  const r = await redis(o.redisUrl);
  notes.redis = r.note;
  const cpRedis = await startControlPlane(
    o.dist,
    o.databaseUrl,
    s,
    { REDIS_URL: r.url },
    "control-plane-redis",
  );
  if (!cpRedis.child.tail.some((line) => line.includes('"fanout":"redis"')))
    throw new Error("the control plane with REDIS_URL did not report the Redis fan-out");
  targets.push(
    await gatewayTarget(
      "gateway+redis",
      o,
      s,
      cpRedis,
      seeded.apiKey,
      r.pid === undefined ? {} : { redis: r.pid },
    ),
  );

  const unavailable: Unavailable[] = [];
  if (o.portkeySpec === undefined) {
    unavailable.push({ name: "portkey", role: "peer", error: "skipped (--no-portkey)" });
  } else {
    try {
      const dir = join(o.scratchDir, "portkey");
      const version = await installPortkey(dir, o.portkeySpec);
      notes.portkey = `@portkey-ai/gateway ${version} installed under ${dir}`;
      const pk = await startPortkey(dir, mock.url, s.secret);
      targets.push({
        name: "portkey",
        role: "peer",
        url: pk.url,
        headers: pk.headers,
        pids: [pk.child.pid],
        support: {},
        log: pk.child.tail,
      });
    } catch (error) {
      unavailable.push({ name: "portkey", role: "peer", error: (error as Error).message });
    }
  }
  return { targets, unavailable, mockUrl: mock.url, notes };
}
