/**
 * One request in flight to each target in turn, the order rotating every
 * round: drift on the machine hits every target alike and cancels out of the
 * per-round differences against the baseline (the first target).
 */
import { performance } from "node:perf_hooks";
import type { Pool } from "undici";
import { poolFor, send } from "./open-loop.js";
import { type Distribution, distribution, median } from "./stats.js";
import { chatBody, type Target } from "./targets.js";

export interface AddedLatencyResult {
  latencyMs: Distribution;
  failures: number;
  /** median over rounds of (this target's figure − the baseline's in the same round) */
  addedMedianMs: number;
  /** p99 of this target minus p99 of the baseline */
  addedP99Ms: number;
}

/** Measures one thing once through a target's pool: milliseconds, or NaN when it failed. */
export type Measure = (pool: Pool, target: Target) => Promise<number>;

/** `rounds` rounds of `measure` on each target in turn (after `warmup` unrecorded rounds). */
export async function pairedRounds(
  targets: Target[],
  rounds: number,
  measure: Measure,
  warmup = 20,
): Promise<Record<string, AddedLatencyResult>> {
  const pools = targets.map((t) => poolFor(t, 1));
  const samples = targets.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmup; i++)
      for (const [j, t] of targets.entries()) await measure(pools[j] as Pool, t).catch(() => 0);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < targets.length; k++) {
        const j = (r + k) % targets.length;
        const ms = await measure(pools[j] as Pool, targets[j] as Target).catch(() => Number.NaN);
        (samples[j] as number[]).push(ms);
      }
    }
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
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
        failures: xs.length - ok(xs).length,
        addedMedianMs: Math.round(median(paired) * 1000) / 1000,
        addedP99Ms: Math.round((dist.p99 - baseDist.p99) * 1000) / 1000,
      };
      return [t.name, result];
    }),
  );
}

/**
 * The baseline (the first target) and one other target alternating, for each
 * other target in turn: between two of its requests a target waits only for
 * one request to the baseline, not for one to every other target. The
 * baseline's own entry is from its pairing with the first other target.
 */
export async function alternatingWithBaseline(
  targets: Target[],
  rounds: number,
  measure: Measure,
  warmup = 20,
): Promise<Record<string, AddedLatencyResult>> {
  const [base, ...others] = targets;
  const out: Record<string, AddedLatencyResult> = {};
  if (!base) return out;
  for (const t of others) {
    const pair = await pairedRounds([base, t], rounds, measure, warmup);
    out[base.name] ??= pair[base.name] as AddedLatencyResult;
    out[t.name] = pair[t.name] as AddedLatencyResult;
  }
  return out;
}

/** One small, non-streaming chat completion: its latency in ms, NaN unless it answered 200. */
export const chatLatency =
  (body = chatBody()): Measure =>
  async (pool, target) => {
    const start = performance.now();
    const status = await send(pool, target, body);
    return status === 200 ? performance.now() - start : Number.NaN;
  };
