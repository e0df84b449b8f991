/**
 * Node drivers with undici: a fixed arrival rate (open loop, latency counted
 * from each request's scheduled send time so a slow target cannot slow the
 * schedule down: no coordinated omission), and one request in flight to each
 * target in turn (added latency, drift cancelled by the alternation).
 */
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { type Distribution, distribution } from "./stats.js";
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
