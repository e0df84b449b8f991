/**
 * The worker's request path under load, against the instant mock, with the
 * direct-to-mock baseline in the same run:
 *
 *   DATABASE_URL=postgres://… node dist/bench/hot-path.js [--dist DIR] [--seconds 10] [--rounds 1]
 *     [--variant NAME[:KEY=VALUE[,KEY=VALUE…]]]…
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
 * variant alike. Writes bench/results/hot-path-<timestamp>.json.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import pg from "pg";
import { generateApiKey } from "../lib/src/api-key.js";
import { projectRoot } from "../lib/src/paths.js";
import { seedRoute } from "../test/helpers/seed.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
};
const DIST = resolve(arg("dist", join(projectRoot(), "dist")));
const SECONDS = Number(arg("seconds", "10"));
const ROUNDS = Number(arg("rounds", "1"));

/** `--variant NAME[:KEY=VALUE,…]`, repeatable: one worker each, with that extra environment. */
interface Variant {
  name: string;
  env: Record<string, string>;
}
function parseVariant(spec: string): Variant {
  const colon = spec.indexOf(":");
  const name = colon === -1 ? spec : spec.slice(0, colon);
  const env: Record<string, string> = {};
  for (const pair of colon === -1 ? [] : spec.slice(colon + 1).split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`--variant ${spec}: expected NAME:KEY=VALUE[,KEY=VALUE]`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (!/^[\w.-]+$/.test(name) || name === "mock") throw new Error(`--variant ${spec}: bad name "${name}"`);
  return { name, env };
}
const variantSpecs = process.argv.flatMap((a, i) => (a === "--variant" ? [process.argv[i + 1] ?? ""] : []));
const VARIANTS: Variant[] = variantSpecs.length
  ? variantSpecs.map(parseVariant)
  : [{ name: "gateway", env: {} }];
if (new Set(VARIANTS.map((v) => v.name)).size !== VARIANTS.length)
  throw new Error("--variant names must differ");
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");

const children: ChildProcess[] = [];
/** Starts `llm-gateway <args>` from DIST; resolves with the `url` of the first log line matching `msg`. */
function start(args: string[], env: Record<string, string>, msg: string, dist = DIST): Promise<string> {
  const proc = spawn(process.execPath, [join(dist, "cli/src/main.js"), ...args], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(proc);
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === msg && parsed.url) resolve(parsed.url);
      } catch {
        // not JSON
      }
    };
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on("line", onLine);
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

const run = promisify(execFile);
const toMs = (v: string) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
};

async function wrk(url: string, connections: number, script: string, seconds = SECONDS): Promise<WrkResult> {
  const { stdout } = await run("wrk", [
    `-t${Math.min(2, connections)}`,
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    "-s",
    script,
    url,
  ]);
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(stdout)?.[1] ?? "");
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}

const dbName = `llmgw_bench_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${dbName}`;
try {
  const secret = `sk-bench-${randomBytes(8).toString("hex")}`;
  const adminKey = generateApiKey();
  const workerToken = randomBytes(24).toString("hex");
  const mockUrl = await start(
    ["mock-provider", "--port", "0", "--api-key", secret],
    {},
    "mock provider listening",
    join(projectRoot(), "dist"), // the same mock whichever build is measured
  );
  const cpUrl = await start(
    ["control-plane"],
    {
      DATABASE_URL: dbUrl.toString(),
      LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      LLM_GATEWAY_WORKER_TOKEN: workerToken,
      LLM_GATEWAY_ADMIN_KEY: adminKey,
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
    },
    "control plane listening",
  );
  const workerUrls: Record<string, string> = {};
  for (const v of VARIANTS) {
    workerUrls[v.name] = await start(
      ["worker"],
      {
        LLM_GATEWAY_CONTROL_PLANE_URL: cpUrl,
        LLM_GATEWAY_WORKER_TOKEN: workerToken,
        LLM_GATEWAY_WORKER_PORT: "0",
        ...v.env,
      },
      "worker listening",
    );
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
  const lua = (key: string) =>
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${key}"\n`;
  const dir = join(projectRoot(), "bench", "results");
  await mkdir(dir, { recursive: true });
  const mockScript = join(dir, ".wrk-mock.lua");
  const gwScript = join(dir, ".wrk-gateway.lua");
  await writeFile(mockScript, lua(secret));
  await writeFile(gwScript, lua(key.apiKey));
  const urls: Record<string, { url: string; script: string }> = {
    mock: { url: `${mockUrl}/chat/completions`, script: mockScript },
  };
  for (const v of VARIANTS)
    urls[v.name] = { url: `${workerUrls[v.name]}/v1/chat/completions`, script: gwScript };

  for (const v of VARIANTS) await wrk(urls[v.name]?.url ?? "", 32, gwScript, 3); // warm-up
  const rounds: Array<Record<"throughput32" | "latency1", Record<string, WrkResult>>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {
      throughput32: {} as Record<string, WrkResult>,
      latency1: {} as Record<string, WrkResult>,
    };
    for (const [mode, connections] of [
      ["throughput32", 32],
      ["latency1", 1],
    ] as const) {
      for (const [name, target] of Object.entries(urls)) {
        round[mode][name] = await wrk(target.url, connections, target.script);
      }
    }
    rounds.push(round);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const summary = (mode: "throughput32" | "latency1") =>
    Object.fromEntries(
      Object.keys(urls).map((name) => {
        const runs = rounds.map((r) => r[mode][name] as WrkResult);
        const field = (f: keyof WrkResult) => median(runs.map((x) => x[f]));
        return [
          name,
          {
            requestsPerSecond: field("requestsPerSecond"),
            p50Ms: field("p50Ms"),
            p99Ms: field("p99Ms"),
            non2xx: runs.reduce((n, x) => n + x.non2xx, 0),
          },
        ];
      }),
    ) as Record<string, WrkResult>;
  const results = { throughput32: summary("throughput32"), latency1: summary("latency1") };
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
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      /** 1, 5 and 15 minute load averages at the end: other work on the machine skews the figures. */
      loadAverage: loadavg(),
    },
    seconds: SECONDS,
    variants: VARIANTS,
    rounds: ROUNDS,
    results,
    addedLatencyMs,
    ...(ROUNDS > 1 ? { eachRound: rounds } : {}),
  };
  const file = join(dir, `hot-path-${out.date.replaceAll(":", "-").replace(".", "-")}.json`);
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
  console.log(`written to ${file}`);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 1500));
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
