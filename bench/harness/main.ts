/**
 * The benchmark harness (issue 8): in one run and on one mock provider, the
 * mock directly (baseline), a TCP relay (the floor of one extra hop), a bare
 * undici pass-through proxy (the Node limit), this gateway with its default
 * features (one worker process, and two), this gateway with Redis, and
 * Portkey's gateway from npm (the peer):
 *
 *   DATABASE_URL=postgres://… npm run bench [-- --profile short] [--dist DIR]
 *     [--portkey VERSION | --no-portkey]
 *
 * Scenarios: closed-loop throughput (wrk at 32 and 256 connections), added
 * latency at one request in flight (all targets in turn each round, and the
 * baseline alternating with each target alone), one connection back to back
 * (wrk -c1, and streams), latency at fixed arrival rates (open loop, from scheduled send
 * times), time to first token at one stream in flight (both ways of pairing),
 * paced streaming bursts (64 chunks 20 ms apart: time to first token, gaps),
 * memory (idle, peak under load, with 1,000 streams open), and the machine's
 * cold-work factor (cold-work.ts). Uses REDIS_URL when set, else
 * starts a redis-server on a free loopback port. Writes
 * bench/results/harness-<profile>-<timestamp>.json and .md (the table).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "../../lib/src/paths.js";
import { type FreshDatabase, freshDatabase, THIS_DIST } from "../lib/gateway.js";
import { machine, stampedName } from "../lib/machine.js";
import { rssBytes, stopAll, stopAllOnSignal } from "../lib/process.js";
import { coldWork } from "./cold-work.js";
import {
  backToBack,
  oneInFlight,
  oneInFlightAlternating,
  streamBackToBack,
  streamingAlternating,
  streamingOneInFlight,
} from "./one-in-flight.js";
import { profileNamed } from "./profiles.js";
import { type Column, peakUnderLoad, type Results, table } from "./report.js";
import { closedLoop, fixedRate, openStreams, streaming, targetRss } from "./scenarios.js";
import { startTargets } from "./targets.js";

const { values } = parseArgs({
  options: {
    profile: { type: "string", default: "full" },
    dist: { type: "string", default: THIS_DIST },
    portkey: { type: "string", default: "latest" },
    "no-portkey": { type: "boolean", default: false },
  },
  strict: true,
});
const profile = profileNamed(values.profile);
const dist = resolve(values.dist);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");

/** Worker settings beyond the defaults: a pool big enough that 1,000 streams really are open upstream. */
const WORKER_ENV = { LLM_GATEWAY_UPSTREAM_CONNECTIONS: "2048" };

const began = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - began) / 1000).toFixed(1)}s] ${line}`);
const root = projectRoot();
const resultsDir = join(root, "bench", "results");
await mkdir(resultsDir, { recursive: true });

let db: FreshDatabase | undefined;
stopAllOnSignal(async () => db?.drop());
const machineAtStart = machine();
db = await freshDatabase(serverUrl);
try {
  log(`profile ${profile.name}: starting targets`);
  const setup = await startTargets({
    dist,
    databaseUrl: db.url,
    redisUrl: process.env.REDIS_URL || undefined,
    portkeySpec: values["no-portkey"] ? undefined : values.portkey,
    scratchDir: join(root, "bench", "scratch"),
    workerEnv: WORKER_ENV,
  });
  const { targets } = setup;
  for (const u of setup.unavailable) log(`${u.name} unavailable: ${u.error}`);
  log(`measuring ${targets.map((t) => t.name).join(", ")}`);
  const rssOf = () => Object.fromEntries(targets.map((t) => [t.name, targetRss(t)]));
  const supportRss = () =>
    Object.fromEntries(
      targets
        .filter((t) => Object.keys(t.support).length)
        .map((t) => [
          t.name,
          Object.fromEntries(Object.entries(t.support).map(([k, pid]) => [k, rssBytes(pid)])),
        ]),
    );
  const idleRssBytes = rssOf();
  const supportIdle = supportRss();
  log(`idle: ${profile.idleSettleSeconds} s without traffic`);
  await new Promise((r) => setTimeout(r, profile.idleSettleSeconds * 1000));
  const settledIdleRssBytes = rssOf();
  const ctx = { profile, targets, mockUrl: setup.mockUrl, scriptDir: resultsDir, log };
  /** A scenario that fails is reported as such; the others still run. */
  const scenarioErrors: Record<string, string> = {};
  const attempt = async <T extends object>(name: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      scenarioErrors[name] = (error as Error).message;
      log(`${name} failed: ${(error as Error).message}`);
      return {} as T;
    }
  };
  const partial = {
    idleRssBytes,
    settledIdleRssBytes,
    closedLoop: await attempt("closedLoop", () => closedLoop(ctx)),
    oneInFlight: await attempt("oneInFlight", () => oneInFlight(ctx)),
    oneInFlightAlternating: await attempt("oneInFlightAlternating", () => oneInFlightAlternating(ctx)),
    backToBack: await attempt("backToBack", () => backToBack(ctx)),
    openLoop: await attempt("openLoop", () => fixedRate(ctx)),
    streaming: await attempt("streaming", () => streaming(ctx)),
    streamOneInFlight: await attempt("streamOneInFlight", () => streamingOneInFlight(ctx)),
    streamAlternating: await attempt("streamAlternating", () => streamingAlternating(ctx)),
    streamBackToBack: await attempt("streamBackToBack", () => streamBackToBack(ctx)),
    coldWork: await attempt("coldWork", () => coldWork(profile.coldWorkSamples)),
  };
  const results: Results = {
    ...partial,
    openStreams: await attempt("openStreams", () => openStreams(ctx)),
    rssAfterBytes: rssOf(),
  };
  const columns: Column[] = [
    ...targets.map((t) => ({ name: t.name, role: t.role })),
    ...setup.unavailable.map((u) => ({ name: u.name, role: u.role, unavailable: u.error })),
  ];
  const machineAtEnd = machine();
  const date = new Date().toISOString();
  const failures = Object.entries(scenarioErrors).map(([k, v]) => `- scenario ${k} failed: ${v}`);
  const markdown = [table(results, columns, machineAtEnd, profile.name), ...failures].join("\n");
  const out = {
    benchmark: "harness",
    date,
    durationSeconds: Math.round((Date.now() - began) / 1000),
    profile,
    dist,
    machine: { ...machineAtEnd, loadAverageAtStart: machineAtStart.loadAverage },
    settings: {
      workerEnv: WORKER_ENV,
      closedLoop:
        "wrk, 2 threads, 10 s timeout, POST of a small chat completion (non-streaming), instant mock",
      openLoop: "undici, 256 connections, latency from scheduled send time, 15 s timeout",
      streams: `burst of ${profile.streamConcurrency}: mock rule ${profile.streamChunks} chunks ${profile.streamIntervalMs} ms apart; one in flight: 2 chunks 10 ms apart, ${profile.ttftRounds} paired rounds (all targets in turn, then the baseline alternating with each target); open streams: 64 chunks 300 ms apart`,
      oneInFlight: `${profile.addedLatencyRounds} rounds with all targets in turn, then ${profile.addedLatencyRounds} rounds of the baseline alternating with each target; back to back: wrk -c1, ${profile.backToBackSeconds} s per target, ${profile.backToBackRounds} rounds; streams back to back: ${profile.backToBackStreams} per target and round, both chunks at once`,
    },
    notes: setup.notes,
    targets: targets.map((t) => ({
      name: t.name,
      role: t.role,
      url: t.url,
      pids: t.pids,
      support: t.support,
    })),
    unavailable: setup.unavailable,
    scenarioErrors,
    results: {
      ...results,
      peakRssUnderLoadBytes: Object.fromEntries(targets.map((t) => [t.name, peakUnderLoad(results, t.name)])),
      supportRssBytes: { idle: supportIdle, end: supportRss() },
    },
    table: markdown,
  };
  const file = join(resultsDir, stampedName(`harness-${profile.name}`, date));
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  await writeFile(file.replace(/\.json$/, ".md"), `${markdown}\n\nResults: ${file}\n`);
  console.log(markdown);
  console.log(`\nwritten to ${file} (and .md)`);
} finally {
  await stopAll();
  await db.drop();
}
