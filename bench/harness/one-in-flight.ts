/**
 * The harness's scenarios at one request in flight: each target's added
 * latency and time to first token measured against the baseline's, three
 * ways. All targets in turn each round (each idles while every other one
 * answers); the baseline alternating with one target at a time (issue 8's
 * method); and back to back on one connection (the request path warm).
 */
import { medianOfRuns, type WrkResult, wrk } from "../lib/wrk.js";
import { poolFor } from "./open-loop.js";
import {
  type AddedLatencyResult,
  alternatingWithBaseline,
  chatLatency,
  type Measure,
  pairedRounds,
} from "./paired.js";
import { type Context, type PerTarget, postScripts } from "./scenarios.js";
import { type Distribution, distribution, median } from "./stats.js";
import { streamOnce } from "./streams.js";
import { setMockRules, type Target } from "./targets.js";

/** One request in flight, every target in turn each round (each idles while all the others answer). */
export function oneInFlight(ctx: Context): Promise<PerTarget<AddedLatencyResult>> {
  ctx.log(`one in flight: ${ctx.profile.addedLatencyRounds} rounds over ${ctx.targets.length} targets`);
  return pairedRounds(ctx.targets, ctx.profile.addedLatencyRounds, chatLatency());
}

/** One request in flight, the baseline and each target alternating (issue 8's method), pair by pair. */
export function oneInFlightAlternating(ctx: Context): Promise<PerTarget<AddedLatencyResult>> {
  ctx.log(
    `one in flight, alternating with the baseline: ${ctx.profile.addedLatencyRounds} rounds per target`,
  );
  return alternatingWithBaseline(ctx.targets, ctx.profile.addedLatencyRounds, chatLatency());
}

export interface BackToBackFigure extends WrkResult {
  /** median over rounds of (this target's p50 − the baseline's p50 in the same round) */
  addedP50Ms: number;
}

/**
 * One connection, each request sent as soon as the last is answered (wrk -c1),
 * `backToBackRounds` rounds of every target in turn: the request path run
 * warm, with no idle between requests.
 */
export async function backToBack(ctx: Context): Promise<PerTarget<BackToBackFigure>> {
  const { profile: p, targets } = ctx;
  const script = await postScripts(ctx);
  const runs = await inRounds(ctx, "back to back", (t) => wrk(t.url, 1, script(t), p.backToBackSeconds));
  const base = baselineOf(ctx, runs).map((x) => x.p50Ms);
  return Object.fromEntries(
    targets.map((t) => {
      const xs = runs.get(t.name) ?? [];
      const addedP50Ms = medianAdded(
        xs.map((x) => x.p50Ms),
        base,
      );
      return [t.name, { ...medianOfRuns(xs), addedP50Ms }];
    }),
  );
}

/**
 * Time to first token at one stream in flight, the targets taking turns as
 * for the added latency (connections kept alive): what the gateway adds to
 * a stream's first token, without the queueing of a burst of streams. The
 * mock's stream is short (2 chunks 10 ms apart) so rounds are quick.
 */
export function streamingOneInFlight(ctx: Context): Promise<PerTarget<AddedLatencyResult>> {
  ctx.log(`stream one in flight: ${ctx.profile.ttftRounds} rounds over ${ctx.targets.length} targets`);
  return withStreamRule(ctx, 10, () => pairedRounds(ctx.targets, ctx.profile.ttftRounds, firstToken));
}

/** Time to first token at one stream in flight, the baseline and each target alternating, pair by pair. */
export function streamingAlternating(ctx: Context): Promise<PerTarget<AddedLatencyResult>> {
  ctx.log(`stream one in flight, alternating with the baseline: ${ctx.profile.ttftRounds} rounds per target`);
  return withStreamRule(ctx, 10, () =>
    alternatingWithBaseline(ctx.targets, ctx.profile.ttftRounds, firstToken),
  );
}

/** A stream's time to first token, NaN unless both content chunks came. */
const firstToken: Measure = async (pool, target) => {
  const sample = await streamOnce(pool, target);
  return sample.error === undefined && sample.contentChunks === 2 ? sample.ttftMs : Number.NaN;
};

/** Runs `fn` with the mock streaming 2 content chunks `intervalMs` apart (short: rounds stay quick). */
async function withStreamRule<T>(ctx: Context, intervalMs: number, fn: () => Promise<T>): Promise<T> {
  await setMockRules(ctx.mockUrl, [{ match: { stream: true }, chunks: 2, chunkIntervalMs: intervalMs }]);
  try {
    return await fn();
  } finally {
    await setMockRules(ctx.mockUrl, []);
  }
}

export interface StreamBackToBackFigure {
  ttftMs: Distribution;
  failures: number;
  /** median over rounds of (this target's p50 − the baseline's p50 in the same round) */
  addedP50Ms: number;
}

/**
 * Streams back to back on one connection, `backToBackRounds` rounds of every
 * target in turn, the mock sending both content chunks at once: time to
 * first token with the streaming path warm.
 */
export async function streamBackToBack(ctx: Context): Promise<PerTarget<StreamBackToBackFigure>> {
  const { profile: p, targets } = ctx;
  const runs = await withStreamRule(ctx, 0, () =>
    inRounds(ctx, "stream back to back", (t) => streamsInARow(t, p.backToBackStreams)),
  );
  const p50 = (xs: number[]) => median(xs.filter((x) => !Number.isNaN(x)));
  const base = baselineOf(ctx, runs).map(p50);
  return Object.fromEntries(
    targets.map((t) => {
      const rounds = runs.get(t.name) ?? [];
      const all = rounds.flat();
      const ok = all.filter((x) => !Number.isNaN(x));
      const addedP50Ms = medianAdded(rounds.map(p50), base);
      return [t.name, { ttftMs: distribution(ok), failures: all.length - ok.length, addedP50Ms }];
    }),
  );
}

/** `backToBackRounds` rounds of `run` on every target in turn: each target's results, round by round. */
async function inRounds<T>(
  ctx: Context,
  label: string,
  run: (target: Target) => Promise<T>,
): Promise<Map<string, T[]>> {
  const rounds = ctx.profile.backToBackRounds;
  const runs = new Map<string, T[]>(ctx.targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of ctx.targets) {
      ctx.log(`${label} ${t.name} (round ${r + 1}/${rounds})`);
      runs.get(t.name)?.push(await run(t));
    }
  }
  return runs;
}

/** The baseline's (the first target's) results, round by round. */
const baselineOf = <T>(ctx: Context, runs: Map<string, T[]>): T[] =>
  runs.get(ctx.targets[0]?.name ?? "") ?? [];

/** `n` streams one after the other on one connection: each one's time to first token (NaN: failed). */
async function streamsInARow(target: Target, n: number): Promise<number[]> {
  const pool = poolFor(target, 1);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await firstToken(pool, target));
  } finally {
    await pool.destroy();
  }
  return out;
}

/** Median over rounds of (a target's figure − the baseline's in the same round), to the µs. */
function medianAdded(figures: number[], baseline: number[]): number {
  const added = figures.map((x, i) => x - (baseline[i] ?? Number.NaN));
  return Math.round(median(added) * 1000) / 1000;
}
