/**
 * Usage ingestion into PostgreSQL (issue 8, target 5: ≥ 20,000 events/s):
 *
 *   DATABASE_URL=postgres://… node dist/bench/ingestion.js [--events 200000] [--batch 1000] [--senders 1,4]
 *     [--encoding wire|message] [--dist DIR]
 *
 * For every sender count: starts a control plane from this checkout's dist/
 * (or from the build --dist names, for a before/after comparison) as a
 * separate process on a fresh database of the server DATABASE_URL names,
 * creates an organization, an API key and a credential through the
 * management API (so events reference real ids), then sends `events` usage
 * events, built the way the worker's closeAccount builds them, with unique
 * request ids, to WorkerService.IngestUsage over Connect with the worker
 * token, in batches of `batch` (the usage reporter's default, 1000), each
 * sender one call in flight like one worker's reporter. With `--encoding
 * wire` (the default, as the worker's reporter sends them) each event is
 * encoded once when built, before the timed part, as a worker encodes it
 * when the request ends, and a call sends IngestUsageRequestWire (the
 * events as bytes); with `--encoding message` each call encodes its
 * UsageEvent messages with protobuf-es, as reporters did before (about
 * 45 µs per event of this process's CPU, on the cores the control plane
 * and PostgreSQL use). A few warm-up batches go first and are not timed. Events/s is measured from the first send to the last
 * acknowledgement; then a SQL count must find exactly every event sent in
 * usage_events (and in the minute rollup), and every call must have
 * acknowledged its whole batch as new: anything else fails the run.
 * Writes bench/results/ingestion-<timestamp>.json and prints a table.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { INGEST_USAGE_WIRE } from "../control-plane/src/services/ingest-usage.js";
import { projectRoot } from "../lib/src/paths.js";
import { ErrorClass } from "../proto/gen/llmgateway/v1/common_pb.js";
import {
  type UsageEvent,
  UsageEventSchema,
  WorkerService,
} from "../proto/gen/llmgateway/v1/worker_service_pb.js";
import { type Seeded, seedRoute } from "../test/helpers/seed.js";
import { arg } from "./lib/args.js";
import {
  type FreshDatabase,
  freshDatabase,
  gatewaySecrets,
  startControlPlane,
  THIS_DIST,
} from "./lib/gateway.js";
import { machine, stampedName } from "./lib/machine.js";
import { stop, stopAll, stopAllOnSignal } from "./lib/process.js";

const EVENTS = Number(arg("events", "200000"));
const BATCH = Number(arg("batch", "1000"));
const SENDERS = arg("senders", "1,4").split(",").map(Number);
const ENCODING = arg("encoding", "wire");
/** The build whose control plane is measured (another checkout's dist/ for a before/after comparison). */
const DIST = resolve(arg("dist", THIS_DIST));
/** Untimed batches per configuration first (JIT, pool connections, plans); counted in the SQL check. */
const WARMUP_BATCHES = 3;
const TARGET_EVENTS_PER_SECOND = 20_000;
if (!Number.isInteger(EVENTS) || EVENTS < 1) throw new Error("--events must be a positive integer");
if (!Number.isInteger(BATCH) || BATCH < 1 || BATCH > 5000) throw new Error("--batch must be 1…5000");
if (SENDERS.some((n) => !Number.isInteger(n) || n < 1))
  throw new Error("--senders must list positive integers");
if (ENCODING !== "wire" && ENCODING !== "message") throw new Error("--encoding must be wire or message");
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");

/**
 * One usage event with every field set, as closeAccount builds it (a literal,
 * not create()): mostly successful chat calls, some streamed, some
 * embeddings, a few rate-limited or failed, started within the last minute.
 */
function usageEvent(s: Seeded, i: number, now: number): UsageEvent {
  const startedAt = now - Math.floor(Math.random() * 60_000);
  const embeddings = i % 10 === 9;
  const status = i % 50 === 7 ? 429 : i % 100 === 13 ? 502 : 200;
  const ok = status === 200;
  const streamed = !embeddings && i % 3 === 0;
  const promptTokens = 50 + ((i * 37) % 2000);
  const completionTokens = ok && !embeddings ? 20 + ((i * 13) % 800) : 0;
  const cachedTokens = i % 4 === 0 ? Math.floor(promptTokens / 2) : 0;
  const providerMs = ok ? 200 + ((i * 7) % 1500) : 40;
  const durationMs = providerMs + 1 + (i % 5) * 0.3;
  return {
    $typeName: "llmgateway.v1.UsageEvent",
    requestId: randomUUID(),
    orgId: s.orgId,
    apiKeyId: s.apiKeyId,
    userId: "",
    provider: "openai-compatible",
    credentialId: s.credentialId,
    requestedModel: embeddings ? "bench-embed" : "bench-model",
    servedModel: embeddings ? "text-embedding-3-small" : "gpt-4o-mini",
    requestType: embeddings ? "embeddings" : "chat",
    streamed,
    statusCode: status,
    errorCode: ok ? "" : "upstream_error",
    errorClass:
      status === 429
        ? ErrorClass.RATE_LIMITED
        : status === 502
          ? ErrorClass.UNAVAILABLE
          : ErrorClass.UNSPECIFIED,
    promptTokens: BigInt(ok ? promptTokens : 0),
    completionTokens: BigInt(completionTokens),
    cachedTokens: BigInt(ok ? cachedTokens : 0),
    reasoningTokens: 0n,
    startedAt: {
      $typeName: "google.protobuf.Timestamp",
      seconds: BigInt(Math.floor(startedAt / 1000)),
      nanos: (startedAt % 1000) * 1_000_000,
    },
    durationMs,
    providerDurationMs: providerMs,
    timeToFirstTokenMs: streamed && ok ? 150 + (i % 200) : 0,
    attempts: ok ? 1 : 2,
    fallbackDepth: 0,
    routingVersion: 7n,
    estimatedCostUsd: ok ? (promptTokens * 0.15 + completionTokens * 0.6) / 1e6 : 0,
  };
}

/** A batch as a call sends it: UsageEvent messages, or (wire) each event's bytes, encoded once. */
type Batch = { events: UsageEvent[] } | { wire: Uint8Array[] };

function batchesOf(s: Seeded, events: number, size: number): Batch[] {
  const now = Date.now();
  const out: Batch[] = [];
  for (let start = 0; start < events; start += size) {
    const batch: UsageEvent[] = [];
    for (let i = start; i < Math.min(events, start + size); i++) batch.push(usageEvent(s, i, now));
    out.push(
      ENCODING === "wire" ? { wire: batch.map((e) => toBinary(UsageEventSchema, e)) } : { events: batch },
    );
  }
  return out;
}

/** One IngestUsage call with the batch as built; resolves with the acknowledgement. */
async function ingest(transport: Transport, workerId: string, batch: Batch, headers: Record<string, string>) {
  const res =
    "wire" in batch
      ? await transport.unary(INGEST_USAGE_WIRE, undefined, 60_000, headers, { workerId, events: batch.wire })
      : await transport.unary(WorkerService.method.ingestUsage, undefined, 60_000, headers, {
          workerId,
          events: batch.events,
        });
  return res.message;
}

const batchSize = (b: Batch) => ("wire" in b ? b.wire.length : b.events.length);

/** Busy and total jiffies of the whole machine (/proc/stat), for its CPU use over an interval. */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat at 100 ticks/s. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds of every process named postgres on this machine, by pid (the
 * server runs here when DATABASE_URL points at 127.0.0.1); empty elsewhere.
 */
function postgresCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres")
        out.set(pid, processCpuSeconds(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds the postgres processes used between two snapshots (processes started since count from 0). */
function postgresCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface ConfigResult {
  senders: number;
  encoding: string;
  batchSize: number;
  events: number;
  warmupEvents: number;
  calls: number;
  seconds: number;
  eventsPerSecond: number;
  callMs: { p50: number; p99: number; max: number };
  /** Machine CPU busy over the timed part, % of all cores (control plane, PostgreSQL and the senders share them). */
  machineCpuBusyPercent: number;
  /** CPU of the control plane process over the timed part, % of one core. */
  controlPlaneCpuPercent: number;
  /** CPU of all postgres processes on this machine over the timed part, % of one core (0 when remote). */
  postgresCpuPercent: number;
  /** CPU of this (sending) process over the timed part, % of one core. */
  senderProcessCpuPercent: number;
  verified: { usageEvents: number; rollupRequests: number; expected: number };
  meetsTarget: boolean;
}

/** The database of the configuration running, dropped on SIGINT/SIGTERM too. */
let current: FreshDatabase | undefined;

async function runConfiguration(senders: number): Promise<ConfigResult> {
  const dbRef = await freshDatabase(serverUrl as string);
  current = dbRef;
  try {
    const secrets = gatewaySecrets();
    const cp = await startControlPlane(DIST, dbRef.url, secrets, {}, `control-plane-${senders}`);
    const seeded = await seedRoute(cp.url, secrets.adminKey, {
      slug: "ingest",
      secret: "sk-ingest-bench",
      baseUrl: "http://127.0.0.1:9/v1",
      model: "ingest-model",
    });
    if (!seeded.orgId || !seeded.apiKeyId || !seeded.credentialId)
      throw new Error("seeding returned empty ids");
    const warmup = batchesOf(seeded, WARMUP_BATCHES * BATCH, BATCH);
    const batches = batchesOf(seeded, EVENTS, BATCH);
    const headers = { authorization: `Bearer ${secrets.workerToken}` };
    // One transport per sender, as each worker has its own reporter (HTTP/1.1, as the worker's).
    const transports: Transport[] = Array.from({ length: senders }, () =>
      createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }),
    );
    const callMs: number[] = [];
    let accepted = 0;
    const send = async (transport: Transport, workerId: string, batch: Batch) => {
      const t0 = performance.now();
      const res = await ingest(transport, workerId, batch, headers);
      callMs.push(performance.now() - t0);
      if (res.accepted !== batchSize(batch) || res.duplicates !== 0)
        throw new Error(
          `${workerId}: batch of ${batchSize(batch)} acknowledged ${res.accepted} accepted, ${res.duplicates} duplicates`,
        );
      accepted += res.accepted;
    };
    for (const [n, batch] of warmup.entries()) {
      await send(transports[n % senders] as Transport, `bench-ingest-${n % senders}`, batch);
    }
    callMs.length = 0;
    accepted = 0;

    const cpu0 = machineJiffies();
    const cp0 = processCpuSeconds(cp.child.pid);
    const pg0 = postgresCpuSeconds();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    // Sender s sends batches s, s + senders, …, one call in flight, like one worker's reporter.
    await Promise.all(
      transports.map(async (transport, s) => {
        for (let b = s; b < batches.length; b += senders)
          await send(transport, `bench-ingest-${s}`, batches[b] as Batch);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = machineJiffies();
    const cpSeconds = processCpuSeconds(cp.child.pid) - cp0;
    const pgSeconds = postgresCpuBetween(pg0, postgresCpuSeconds());
    const self = process.cpuUsage(self0);
    await stop(cp.child);

    const expected = WARMUP_BATCHES * BATCH + EVENTS;
    const check = new pg.Client({ connectionString: dbRef.url });
    await check.connect();
    let usageEvents: number;
    let rollupRequests: number;
    try {
      const a = await check.query<{ n: string }>("SELECT count(*) AS n FROM usage_events");
      const b = await check.query<{ n: string | null }>("SELECT sum(requests) AS n FROM usage_rollup_minute");
      usageEvents = Number(a.rows[0]?.n ?? 0);
      rollupRequests = Number(b.rows[0]?.n ?? 0);
    } finally {
      await check.end();
    }
    if (accepted !== EVENTS || usageEvents !== expected || rollupRequests !== expected) {
      throw new Error(
        `INGESTION CHECK FAILED (${senders} sender(s)): sent ${expected} events (${EVENTS} timed), ` +
          `acknowledged ${accepted} of the timed ones, usage_events holds ${usageEvents}, ` +
          `usage_rollup_minute counts ${rollupRequests}`,
      );
    }
    callMs.sort((x, y) => x - y);
    const eventsPerSecond = EVENTS / seconds;
    return {
      senders,
      encoding: ENCODING,
      batchSize: BATCH,
      events: EVENTS,
      warmupEvents: WARMUP_BATCHES * BATCH,
      calls: batches.length,
      seconds: round(seconds, 3),
      eventsPerSecond: Math.round(eventsPerSecond),
      callMs: {
        p50: round(percentile(callMs, 50)),
        p99: round(percentile(callMs, 99)),
        max: round(callMs[callMs.length - 1] ?? Number.NaN),
      },
      machineCpuBusyPercent: round((100 * (cpu1.busy - cpu0.busy)) / (cpu1.total - cpu0.total)),
      controlPlaneCpuPercent: round((100 * cpSeconds) / seconds),
      postgresCpuPercent: round((100 * pgSeconds) / seconds),
      senderProcessCpuPercent: round((100 * (self.user + self.system)) / 1e6 / seconds),
      verified: { usageEvents, rollupRequests, expected },
      meetsTarget: eventsPerSecond >= TARGET_EVENTS_PER_SECOND,
    };
  } finally {
    await stopAll();
    current = undefined;
    await dbRef.drop();
  }
}

async function serverInfo(): Promise<{ version: string; settings: Record<string, string> }> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    const version = (await c.query<{ v: string }>("SELECT version() AS v")).rows[0]?.v ?? "";
    const { rows } = await c.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
       WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'wal_level', 'max_wal_size')`,
    );
    return {
      version,
      settings: Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting])),
    };
  } finally {
    await c.end();
  }
}

stopAllOnSignal(async () => {
  await current?.drop();
});
const postgres = await serverInfo();
const results: ConfigResult[] = [];
for (const senders of SENDERS) results.push(await runConfiguration(senders));

const out = {
  benchmark: "ingestion",
  date: new Date().toISOString(),
  machine: machine(),
  postgres,
  targetEventsPerSecond: TARGET_EVENTS_PER_SECOND,
  events: EVENTS,
  batchSize: BATCH,
  encoding: ENCODING,
  controlPlaneDist: DIST,
  results,
  meetsTarget: results.every((r) => r.meetsTarget),
};
const dir = join(projectRoot(), "bench", "results");
await mkdir(dir, { recursive: true });
const file = join(dir, stampedName("ingestion", out.date));
await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);

console.log(`PostgreSQL: ${postgres.version}`);
console.log(`settings:   ${JSON.stringify(postgres.settings)}`);
console.log(`machine:    ${JSON.stringify(out.machine)}`);
console.log(`encoding:   ${ENCODING}`);
console.log("");
const head = [
  "senders",
  "batch",
  "events",
  "seconds",
  "events/s",
  "call p50",
  "call p99",
  "cpu",
  "cp cpu",
  "pg cpu",
  "sender cpu",
  "verified",
  `≥ 20k/s`,
];
const rows = results.map((r) => [
  String(r.senders),
  String(r.batchSize),
  String(r.events),
  r.seconds.toFixed(2),
  r.eventsPerSecond.toLocaleString("en-US"),
  `${r.callMs.p50} ms`,
  `${r.callMs.p99} ms`,
  `${r.machineCpuBusyPercent} %`,
  `${r.controlPlaneCpuPercent} %`,
  `${r.postgresCpuPercent} %`,
  `${r.senderProcessCpuPercent} %`,
  `${r.verified.usageEvents} rows`,
  r.meetsTarget ? "yes" : "no",
]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(" | ")} |`;
console.log(line(head));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
console.log("");
console.log(
  "cpu: machine busy, % of all cores; cp / pg / sender cpu: control plane, postgres processes, this process, % of one core; " +
    "verified: usage_events rows incl. warm-up",
);
console.log(`written to ${file}`);
