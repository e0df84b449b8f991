/**
 * Memory over a soak (issue 8, target 4: RSS flat within 10 % over the last
 * 8 minutes of a 10-minute soak):
 *
 *   DATABASE_URL=postgres://… node dist/bench/soak.js [--minutes 10] [--connections 8] [--sample-seconds 5]
 *
 * Starts the mock, a control plane on a fresh database and one worker with its
 * defaults (metrics and usage accounting on), then keeps wrk running against
 * the worker for the whole soak (one wrk run per minute, back to back, so each
 * minute's throughput is recorded) while sampling the worker's RSS. Reports the
 * idle RSS, every sample, and over the last 8 minutes (or the last 80 % of a
 * shorter soak) min, max and (max − min) / min of the samples, and the same
 * spread over each minute's mean and over each minute's lowest sample (the
 * post-GC floor). Writes
 * bench/results/soak-<timestamp>.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
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
import { rssBytes, stopAll } from "./lib/process.js";
import { writePostScript, wrk } from "./lib/wrk.js";

const num = (name: string, fallback: string) => Number(arg(name, fallback));
const MINUTES = num("minutes", "10");
const CONNECTIONS = num("connections", "8");
const SAMPLE_SECONDS = num("sample-seconds", "5");
if (!(MINUTES >= 1 && MINUTES <= 60)) throw new Error("--minutes must be 1–60");
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error("DATABASE_URL (a PostgreSQL server) is required");

const MB = 2 ** 20;
const db = await freshDatabase(serverUrl);
try {
  const secrets = gatewaySecrets();
  const mock = await startMock(secrets.secret);
  const cp = await startControlPlane(THIS_DIST, db.url, secrets);
  const worker = await startWorker(THIS_DIST, cp.url, secrets);
  const key = await seedRoute(cp.url, secrets.adminKey, {
    slug: "soak",
    secret: secrets.secret,
    baseUrl: mock.url,
    model: "soak-model",
  });
  await new Promise((r) => setTimeout(r, 2000)); // the route reaches the worker; the process settles
  const idleRss = rssBytes(worker.child.pid) ?? 0;

  const dir = join(projectRoot(), "bench", "results");
  await mkdir(dir, { recursive: true });
  const script = join(dir, ".wrk-soak.lua");
  const body = JSON.stringify({ model: "soak-model", messages: [{ role: "user", content: "Hello there!" }] });
  await writePostScript(script, body, { Authorization: `Bearer ${key.apiKey}` });

  const started = Date.now();
  const samples: Array<{ seconds: number; rssMB: number }> = [];
  const timer = setInterval(() => {
    const rss = rssBytes(worker.child.pid);
    if (rss !== undefined) samples.push({ seconds: (Date.now() - started) / 1000, rssMB: rss / MB });
  }, SAMPLE_SECONDS * 1000);
  const minutes = [];
  for (let m = 0; m < MINUTES; m++) {
    const r = await wrk(`${worker.url}/v1/chat/completions`, CONNECTIONS, script, 60);
    minutes.push({
      minute: m + 1,
      requestsPerSecond: r.requestsPerSecond,
      p99Ms: r.p99Ms,
      errors: r.non2xx + r.socketErrors,
    });
    const last = samples.at(-1);
    console.log(
      `minute ${m + 1}: ${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}, rss ${last?.rssMB.toFixed(1)} MB`,
    );
  }
  clearInterval(timer);

  const tailFrom = MINUTES >= 10 ? (MINUTES - 8) * 60 : MINUTES * 60 * 0.2;
  const tail = samples.filter((s) => s.seconds >= tailFrom).map((s) => s.rssMB);
  const min = Math.min(...tail);
  const max = Math.max(...tail);
  const spread = (max - min) / min;
  // Per minute of the tail: mean, and the lowest sample (the post-GC floor); the GC sawtooth
  // (old space grows, then a mark-compact returns it) moves single samples by tens of MB.
  const perMinute = new Map<number, number[]>();
  for (const s of samples.filter((x) => x.seconds >= tailFrom)) {
    const m = Math.floor(s.seconds / 60);
    perMinute.set(m, [...(perMinute.get(m) ?? []), s.rssMB]);
  }
  const minuteStats = [...perMinute.entries()]
    .filter(([, xs]) => xs.length >= 3)
    .map(([m, xs]) => ({
      minute: m + 1,
      meanMB: xs.reduce((a, b) => a + b, 0) / xs.length,
      floorMB: Math.min(...xs),
    }));
  const spreadOf = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / Math.min(...xs);
  const meanSpread = spreadOf(minuteStats.map((x) => x.meanMB));
  const floorSpread = spreadOf(minuteStats.map((x) => x.floorMB));
  const out = {
    benchmark: "soak",
    date: new Date().toISOString(),
    machine: machine(),
    minutes: MINUTES,
    connections: CONNECTIONS,
    idleRssMB: idleRss / MB,
    tail: {
      fromSeconds: tailFrom,
      minMB: min,
      maxMB: max,
      spread,
      flatWithin10Percent: spread <= 0.1,
      minutes: minuteStats,
      minuteMeanSpread: meanSpread,
      minuteFloorSpread: floorSpread,
    },
    minutesSummary: minutes,
    samples,
  };
  const file = join(dir, stampedName("soak", out.date));
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `idle ${out.idleRssMB.toFixed(1)} MB; last ${((MINUTES * 60 - tailFrom) / 60).toFixed(1)} min: ` +
      `${min.toFixed(1)}–${max.toFixed(1)} MB, spread ${(spread * 100).toFixed(1)} % ` +
      `(target ≤ 10 %: ${spread <= 0.1 ? "met" : "not met"}); per-minute means within ` +
      `${(meanSpread * 100).toFixed(1)} %, per-minute floors within ${(floorSpread * 100).toFixed(1)} %`,
  );
  console.log(`written to ${file}`);
} finally {
  await stopAll();
  await db.drop();
}
