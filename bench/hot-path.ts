/**
 * The worker's request path under load, against the instant mock, with the
 * direct-to-mock baseline in the same run:
 *
 *   DATABASE_URL=postgres://… node dist/bench/hot-path.js [--dist DIR] [--seconds 10] [--rounds 1]
 *     [--variant NAME[@DIR][:KEY=VALUE[,KEY=VALUE…]]]…
 *
 * Starts the mock provider, a control plane (on a fresh database of the
 * server DATABASE_URL names) and one worker per variant as separate processes
 * from DIR (default: this checkout's dist/, so an older build can be measured
 * the same way; the mock always comes from this checkout), seeds a route, then
 * runs wrk (Debian package) with 32 connections for throughput and with 1
 * connection for latency, each against the mock directly and through every
 * worker, one after the other. A variant is a worker with extra environment,
 * e.g. `--variant metrics-on --variant metrics-off:LLM_GATEWAY_METRICS=off`
 * measures the request metrics' cost side by side; without `--variant` there
 * is one worker named "gateway". With `--rounds N` every measurement is
 * repeated N times in turn (mock, variant 1, variant 2, …, then again) and the
 * median of each figure reported, so slow drift of the machine hits every
 * variant alike. Also reports each worker's CPU time (user + system, from /proc) per request
 * at 32 connections: what a change costs or saves in work, which other load on the machine moves
 * far less than it moves throughput. Writes bench/results/hot-path-<timestamp>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { projectRoot } from "../lib/src/paths.js";
import { seedRoute } from "../test/helpers/seed.js";
import { arg } from "./lib/args.js";
import {
  freshDatabase,
  gatewaySecrets,
  startControlPlane,
  startMock,
  startWorker,
  THIS_DIST,
} from "./lib/gateway.js";
import { machine, stampedName } from "./lib/machine.js";
import { cpuSeconds, stopAll } from "./lib/process.js";
import { medianOfRuns, wrk as runWrk, type WrkResult, writePostScript } from "./lib/wrk.js";

const DIST = resolve(arg("dist", THIS_DIST));
const SECONDS = Number(arg("seconds", "10"));
const ROUNDS = Number(arg("rounds", "1"));

/**
 * `--variant NAME[@DIR][:KEY=VALUE,…]`, repeatable: one worker each, with that extra environment,
 * from the build in DIR when given (two builds side by side in one run), else from `--dist`.
 */
interface Variant {
  name: string;
  dist: string;
  env: Record<string, string>;
}
function parseVariant(spec: string): Variant {
  const colon = spec.indexOf(":");
  const head = colon === -1 ? spec : spec.slice(0, colon);
  const at = head.indexOf("@");
  const name = at === -1 ? head : head.slice(0, at);
  const dist = at === -1 ? DIST : resolve(head.slice(at + 1));
  const env: Record<string, string> = {};
  for (const pair of colon === -1 ? [] : spec.slice(colon + 1).split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`--variant ${spec}: expected NAME:KEY=VALUE[,KEY=VALUE]`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (!/^[\w.-]+$/.test(name) || name === "mock") throw new Error(`--variant ${spec}: bad name "${name}"`);
  return { name, dist, env };
}
const variantSpecs = process.argv.flatMap((a, i) => (a === "--variant" ? [process.argv[i + 1] ?? ""] : []));
const VARIANTS: Variant[] = variantSpecs.length
  ? variantSpecs.map(parseVariant)
  : [{ name: "gateway", dist: DIST, env: {} }];
if (new Set(VARIANTS.map((v) => v.name)).size !== VARIANTS.length)
  throw new Error("--variant names must differ");
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");

const wrk = (url: string, connections: number, script: string, seconds = SECONDS): Promise<WrkResult> =>
  runWrk(url, connections, script, seconds);

const db = await freshDatabase(serverUrl);
try {
  const secrets = gatewaySecrets();
  const { secret, adminKey } = secrets;
  const mockUrl = (await startMock(secret)).url; // the same mock whichever build is measured
  const cpUrl = (await startControlPlane(DIST, db.url, secrets)).url;
  const workerUrls: Record<string, string> = {};
  const workerPids: Record<string, number> = {};
  for (const v of VARIANTS) {
    const started = await startWorker(v.dist, cpUrl, secrets, v.env, v.name);
    workerUrls[v.name] = started.url;
    workerPids[v.name] = started.child.pid ?? 0;
  }
  const key = await seedRoute(cpUrl, adminKey, {
    slug: "bench",
    secret,
    baseUrl: mockUrl,
    model: "bench-model",
  });
  await new Promise((r) => setTimeout(r, 1000)); // the route reaches the worker

  const body = JSON.stringify({
    model: "bench-model",
    messages: [{ role: "user", content: "Hello there!" }],
  });
  const dir = join(projectRoot(), "bench", "results");
  await mkdir(dir, { recursive: true });
  const mockScript = join(dir, ".wrk-mock.lua");
  const gwScript = join(dir, ".wrk-gateway.lua");
  await writePostScript(mockScript, body, { Authorization: `Bearer ${secret}` });
  await writePostScript(gwScript, body, { Authorization: `Bearer ${key.apiKey}` });
  const urls: Record<string, { url: string; script: string }> = {
    mock: { url: `${mockUrl}/chat/completions`, script: mockScript },
  };
  for (const v of VARIANTS)
    urls[v.name] = { url: `${workerUrls[v.name]}/v1/chat/completions`, script: gwScript };

  for (const v of VARIANTS) await wrk(urls[v.name]?.url ?? "", 32, gwScript, 3); // warm-up
  const rounds: Array<
    Record<"throughput32" | "latency1", Record<string, WrkResult>> & {
      cpuMicrosPerRequest: Record<string, number>;
    }
  > = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {
      throughput32: {} as Record<string, WrkResult>,
      latency1: {} as Record<string, WrkResult>,
      cpuMicrosPerRequest: {} as Record<string, number>,
    };
    for (const [mode, connections] of [
      ["throughput32", 32],
      ["latency1", 1],
    ] as const) {
      for (const [name, target] of Object.entries(urls)) {
        const pid = workerPids[name];
        const cpuBefore = pid ? cpuSeconds(pid) : undefined;
        const result = await wrk(target.url, connections, target.script);
        round[mode][name] = result;
        const cpuAfter = pid ? cpuSeconds(pid) : undefined;
        // the worker's CPU per request: what a change saves, little moved by other load on the machine
        if (mode === "throughput32" && cpuBefore !== undefined && cpuAfter !== undefined) {
          const requests = result.requestsPerSecond * SECONDS;
          round.cpuMicrosPerRequest[name] = Math.round(((cpuAfter - cpuBefore) * 1e6) / requests);
        }
      }
    }
    rounds.push(round);
  }
  const summary = (mode: "throughput32" | "latency1") =>
    Object.fromEntries(
      Object.keys(urls).map((name) => [name, medianOfRuns(rounds.map((r) => r[mode][name] as WrkResult))]),
    ) as Record<string, WrkResult>;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const results = {
    throughput32: summary("throughput32"),
    latency1: summary("latency1"),
    /** the worker's CPU time (user + system) per request at 32 connections, median of the rounds */
    cpuMicrosPerRequest: Object.fromEntries(
      VARIANTS.map((v) => [v.name, median(rounds.map((r) => r.cpuMicrosPerRequest[v.name] as number))]),
    ),
  };
  const mock = results.latency1.mock as WrkResult;
  const addedLatencyMs = Object.fromEntries(
    VARIANTS.map((v) => {
      const gw = results.latency1[v.name] as WrkResult;
      return [v.name, { p50: gw.p50Ms - mock.p50Ms, p99: gw.p99Ms - mock.p99Ms }];
    }),
  );
  const out = {
    benchmark: "hot-path",
    date: new Date().toISOString(),
    dist: DIST,
    machine: machine(),
    seconds: SECONDS,
    variants: VARIANTS,
    rounds: ROUNDS,
    results,
    addedLatencyMs,
    ...(ROUNDS > 1 ? { eachRound: rounds } : {}),
  };
  const file = join(dir, stampedName("hot-path", out.date));
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
  console.log(`written to ${file}`);
} finally {
  await stopAll();
  await db.drop();
}
