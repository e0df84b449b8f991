/**
 * Node drivers with undici: a fixed arrival rate (open loop, latency counted
 * from each request's scheduled send time so a slow target cannot slow the
 * schedule down: no coordinated omission), and one request in flight to each
 * target in turn (added latency, drift cancelled by the alternation).
 */
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { type Distribution, distribution, median } from "./stats.js";
import { chatBody, type Target } from "./targets.js";

const TIMEOUT_MS = 15_000;

export function poolFor(target: Target, connections: number): Pool {
  return new Pool(new URL(target.url).origin, {
    connections,
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
  });
}

/** One POST of `body`; resolves with the status once the body is read. */
export async function send(pool: Pool, target: Target, body: string): Promise<number> {
  const res = await pool.request({
    method: "POST",
    path: new URL(target.url).pathname,
    headers: { ...target.headers, "content-type": "application/json" },
    body,
  });
  await res.body.dump({ limit: 1 << 20 });
  return res.statusCode;
}

export interface OpenLoopResult {
  ratePerSecond: number;
  seconds: number;
  scheduled: number;
  completed: number;
  non2xx: number;
  errors: number;
  /** not sent: more than `maxOutstanding` requests were already waiting */
  dropped: number;
  achievedPerSecond: number;
  /** from scheduled send time to the end of the response, 2xx only */
  latencyMs: Distribution;
  /** how late the driver sent (p99): the driver's own share of the latency */
  sendLagP99Ms: number;
}

/** Sends `rate` requests per second for `seconds` on a fixed schedule. */
export async function openLoop(
  target: Target,
  rate: number,
  seconds: number,
  connections = 256,
  maxOutstanding = 5000,
): Promise<OpenLoopResult> {
  const pool = poolFor(target, connections);
  const body = chatBody();
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const lags: number[] = [];
  let next = 0;
  let outstanding = 0;
  let non2xx = 0;
  let errors = 0;
  let dropped = 0;
  const t0 = performance.now() + 20;
  let lastDone = t0;
  await new Promise<void>((resolve) => {
    const settle = () => {
      outstanding--;
      lastDone = performance.now();
      if (next === total && outstanding === 0) resolve();
    };
    const fire = (i: number, now: number) => {
      const scheduled = t0 + i * interval;
      lags.push(now - scheduled);
      if (outstanding >= maxOutstanding) {
        dropped++;
        return;
      }
      outstanding++;
      send(pool, target, body).then(
        (status) => {
          if (status >= 200 && status < 300) latencies.push(performance.now() - scheduled);
          else non2xx++;
          settle();
        },
        () => {
          errors++;
          settle();
        },
      );
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) fire(next++, now);
      if (next < total) setTimeout(tick, Math.max(0, Math.min(1, t0 + next * interval - now)));
      else if (outstanding === 0) resolve();
    };
    setTimeout(tick, 20);
  });
  await pool.destroy();
  const completed = latencies.length;
  return {
    ratePerSecond: rate,
    seconds,
    scheduled: total,
    completed,
    non2xx,
    errors,
    dropped,
    achievedPerSecond: Math.round((completed / (lastDone - t0)) * 1000),
    latencyMs: distribution(latencies),
    sendLagP99Ms: distribution(lags).p99,
  };
}

export interface AddedLatencyResult {
  latencyMs: Distribution;
  failures: number;
  /** median over rounds of (this target's latency − the baseline's in the same round) */
  addedMedianMs: number;
  /** p99 of this target minus p99 of the baseline */
  addedP99Ms: number;
}

/** `rounds` rounds of one request to each target in turn (the order rotating), one in flight. */
export async function addedLatency(
  targets: Target[],
  rounds: number,
): Promise<Record<string, AddedLatencyResult>> {
  const pools = targets.map((t) => poolFor(t, 1));
  const body = chatBody();
  const samples = targets.map(() => [] as number[]);
  const failures = targets.map(() => 0);
  for (let i = 0; i < 20; i++)
    for (const [j, t] of targets.entries()) await send(pools[j] as Pool, t, body).catch(() => 0); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const j = (r + k) % targets.length;
      const start = performance.now();
      const status = await send(pools[j] as Pool, targets[j] as Target, body).catch(() => 0);
      const ms = performance.now() - start;
      if (status === 200) (samples[j] as number[]).push(ms);
      else {
        (samples[j] as number[]).push(Number.NaN);
        failures[j] = (failures[j] ?? 0) + 1;
      }
    }
  }
  await Promise.all(pools.map((p) => p.destroy()));
  const base = samples[0] as number[];
  const ok = (xs: number[]) => xs.filter((x) => !Number.isNaN(x));
  const baseDist = distribution(ok(base));
  return Object.fromEntries(
    targets.map((t, j) => {
      const xs = samples[j] as number[];
      const paired = xs.map((x, r) => x - (base[r] as number)).filter((x) => !Number.isNaN(x));
      const dist = distribution(ok(xs));
      const result: AddedLatencyResult = {
        latencyMs: dist,
        failures: failures[j] ?? 0,
        addedMedianMs: Math.round(median(paired) * 1000) / 1000,
        addedP99Ms: Math.round((dist.p99 - baseDist.p99) * 1000) / 1000,
      };
      return [t.name, result];
    }),
  );
}
