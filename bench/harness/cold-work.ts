/**
 * A figure of the machine, not of any target: how much slower one fixed,
 * small piece of request-like work (parse and re-serialise a chat body, hash
 * an API key, look it up) runs after the process has been idle for a while
 * than when it runs back to back. Every target at one request in flight runs
 * its request path after such an idle (while the client waits on the other
 * targets, or on a stream's next chunk), and pays this factor on whatever
 * code it runs: a byte relay runs little, an HTTP server and client much more.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { percentile } from "./stats.js";
import { chatBody } from "./targets.js";

export interface ColdWorkFigure {
  /** idle before each run, ms; 0: none (runs back to back, no return to the event loop) */
  idleMs: number;
  p50Us: number;
  p90Us: number;
  /** p50 / the back-to-back p50 */
  slowdown: number;
}

const IDLES_MS = [0, 1, 2, 5, 10, 20];

function makeWork(): () => number {
  const body = chatBody(true);
  const keys = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) keys.set(createHash("sha256").update(`key-${i}`).digest("hex"), i);
  return () => {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    parsed.stream_options = { include_usage: true };
    const out = JSON.stringify(parsed);
    const hash = createHash("sha256").update("sk-live-0123456789abcdef0123456789abcdef").digest("hex");
    return out.length + (keys.get(hash) ?? 0);
  };
}

/** `samples` timed runs of the work after each idle of `IDLES_MS` (after a warm-up). */
export async function coldWork(samples: number): Promise<ColdWorkFigure[]> {
  const work = makeWork();
  for (let i = 0; i < 5000; i++) work();
  const out: ColdWorkFigure[] = [];
  for (const idleMs of IDLES_MS) {
    const us = new Float64Array(samples);
    for (let i = 0; i < samples; i++) {
      if (idleMs > 0) await sleep(idleMs);
      const t = performance.now();
      work();
      us[i] = (performance.now() - t) * 1000;
    }
    us.sort();
    out.push({ idleMs, p50Us: round(percentile(us, 50)), p90Us: round(percentile(us, 90)), slowdown: 0 });
  }
  const warm = out[0]?.p50Us ?? Number.NaN;
  for (const f of out) f.slowdown = Math.round((f.p50Us / warm) * 10) / 10;
  return out;
}

const round = (x: number) => Math.round(x * 10) / 10;
