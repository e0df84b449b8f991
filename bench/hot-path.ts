/**
 * The worker's request path under load, against the instant mock, with the
 * direct-to-mock baseline in the same run:
 *
 *   DATABASE_URL=postgres://… node dist/bench/hot-path.js [--dist DIR] [--seconds 10]
 *
 * Starts the mock provider, a control plane (on a fresh database of the
 * server DATABASE_URL names) and one worker as separate processes from DIR
 * (default: this checkout's dist/, so an older build can be measured the same
 * way; the mock always comes from this checkout), seeds a route, then runs wrk (Debian package) with 32 connections for
 * throughput and with 1 connection for latency, each against the mock
 * directly and through the worker. Writes bench/results/hot-path-<timestamp>.json.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
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
  const workerUrl = await start(
    ["worker"],
    {
      LLM_GATEWAY_CONTROL_PLANE_URL: cpUrl,
      LLM_GATEWAY_WORKER_TOKEN: workerToken,
      LLM_GATEWAY_WORKER_PORT: "0",
    },
    "worker listening",
  );
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
  const mockChat = `${mockUrl}/chat/completions`;
  const gwChat = `${workerUrl}/v1/chat/completions`;

  await wrk(gwChat, 32, gwScript, 3); // warm-up
  const results = {
    throughput32: { mock: await wrk(mockChat, 32, mockScript), gateway: await wrk(gwChat, 32, gwScript) },
    latency1: { mock: await wrk(mockChat, 1, mockScript), gateway: await wrk(gwChat, 1, gwScript) },
  };
  const out = {
    benchmark: "hot-path",
    date: new Date().toISOString(),
    dist: DIST,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    seconds: SECONDS,
    results,
    addedLatencyMs: {
      p50: results.latency1.gateway.p50Ms - results.latency1.mock.p50Ms,
      p99: results.latency1.gateway.p99Ms - results.latency1.mock.p99Ms,
    },
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
