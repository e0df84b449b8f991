/**
 * The harness's scenarios, each run over every target in turn on the same
 * mock: closed-loop throughput (wrk), latency at a fixed arrival rate, paced
 * streaming, and memory (one request in flight: one-in-flight.ts).
 */
import { join } from "node:path";
import { rssBytes, sampleRss } from "../lib/process.js";
import { medianOfRuns, type WrkResult, writePostScript, wrk } from "../lib/wrk.js";
import { type OpenLoopResult, openLoop } from "./open-loop.js";
import type { Profile } from "./profiles.js";
import { type Distribution, distribution } from "./stats.js";
import { type HeldStreams, holdStreams, streamBatch } from "./streams.js";
import { chatBody, setMockRules, type Target } from "./targets.js";

export interface Context {
  profile: Profile;
  targets: Target[];
  mockUrl: string;
  /** where the wrk Lua scripts go */
  scriptDir: string;
  log: (line: string) => void;
}

export type PerTarget<T> = Record<string, T>;

/** Summed RSS of a target's processes, undefined when one cannot be read. */
export function targetRss(target: Target): number | undefined {
  const values = target.pids.map(rssBytes);
  return values.some((v) => v === undefined) ? undefined : (values as number[]).reduce((a, b) => a + b, 0);
}

export interface ClosedLoopFigure extends WrkResult {
  peakRssBytes: number | undefined;
}

/** Writes each target's wrk script (a POST of the chat body) into `scriptDir`; its path by target. */
export async function postScripts(ctx: Context): Promise<(t: Target) => string> {
  const scripts = new Map<Target, string>();
  for (const t of ctx.targets) {
    const file = join(ctx.scriptDir, `.wrk-harness-${t.name.replace(/\W/g, "_")}.lua`);
    await writePostScript(file, chatBody(), t.headers);
    scripts.set(t, file);
  }
  return (t) => scripts.get(t) as string;
}

/** wrk at each connection count, the targets taking turns; the median of `closedLoopRounds` runs. */
export async function closedLoop(ctx: Context): Promise<Record<string, PerTarget<ClosedLoopFigure>>> {
  const { profile: p, targets } = ctx;
  const script = await postScripts(ctx);
  for (const t of targets) await wrk(t.url, 32, script(t), p.warmupSeconds);
  const runs: Record<string, PerTarget<ClosedLoopFigure[]>> = {};
  for (let r = 0; r < p.closedLoopRounds; r++) {
    for (const c of p.closedLoopConnections) {
      const byTarget: PerTarget<ClosedLoopFigure[]> = runs[`c${c}`] ?? {};
      runs[`c${c}`] = byTarget;
      for (const t of targets) {
        ctx.log(`closed loop c=${c} ${t.name} (round ${r + 1}/${p.closedLoopRounds})`);
        const peak = sampleRss(t.pids);
        const result = await wrk(t.url, c, script(t), p.closedLoopSeconds, 10);
        byTarget[t.name] = [...(byTarget[t.name] ?? []), { ...result, peakRssBytes: peak() }];
      }
    }
  }
  const out: Record<string, PerTarget<ClosedLoopFigure>> = {};
  for (const [key, byTarget] of Object.entries(runs)) {
    out[key] = {};
    for (const [name, xs] of Object.entries(byTarget)) {
      const peaks = xs.map((x) => x.peakRssBytes).filter((x) => x !== undefined);
      out[key][name] = { ...medianOfRuns(xs), peakRssBytes: peaks.length ? Math.max(...peaks) : undefined };
    }
  }
  return out;
}

/** Each fixed arrival rate against each target in turn. */
export async function fixedRate(ctx: Context): Promise<Record<string, PerTarget<OpenLoopResult>>> {
  const out: Record<string, PerTarget<OpenLoopResult>> = {};
  for (const rate of ctx.profile.openLoopRates) {
    const byTarget: PerTarget<OpenLoopResult> = {};
    for (const t of ctx.targets) {
      ctx.log(`open loop ${rate}/s ${t.name}`);
      byTarget[t.name] = await openLoop(t, rate, ctx.profile.openLoopSeconds);
    }
    out[`rate${rate}`] = byTarget;
  }
  return out;
}

export interface StreamingFigure {
  streams: number;
  /** streams that delivered every content chunk */
  complete: number;
  failed: number;
  firstError?: string;
  ttftMs: Distribution;
  gapMs: Distribution;
  /** this target's median TTFT minus the baseline's */
  addedTtftMs: number;
}

/** Paced streams (the mock's timing rule for `stream: true`), rounds of concurrent streams per target. */
export async function streaming(ctx: Context): Promise<PerTarget<StreamingFigure>> {
  const { profile: p, targets } = ctx;
  await setMockRules(ctx.mockUrl, [
    { match: { stream: true }, chunks: p.streamChunks, chunkIntervalMs: p.streamIntervalMs },
  ]);
  const samples = new Map(targets.map((t) => [t.name, [] as Awaited<ReturnType<typeof streamBatch>>]));
  try {
    for (let r = 0; r < p.streamRounds; r++) {
      for (const t of targets) {
        ctx.log(`streaming ${t.name} (round ${r + 1}/${p.streamRounds})`);
        samples.get(t.name)?.push(...(await streamBatch(t, p.streamConcurrency)));
      }
    }
  } finally {
    await setMockRules(ctx.mockUrl, []);
  }
  const logged = (name: string) => {
    const line = targets.find((t) => t.name === name)?.log?.find((l) => /Error\b/.test(l));
    return line ? ` (its log: ${line.trim().slice(0, 200)})` : "";
  };
  const figure = (name: string) => {
    const xs = samples.get(name) ?? [];
    const failed = xs.filter((s) => s.error !== undefined);
    const ok = xs.filter((s) => s.error === undefined && s.contentChunks > 0);
    return {
      streams: xs.length,
      complete: xs.filter((s) => s.error === undefined && s.contentChunks === p.streamChunks).length,
      failed: failed.length,
      ...(failed[0]?.error ? { firstError: `${failed[0].error}${logged(name)}` } : {}),
      ttftMs: distribution(ok.map((s) => s.ttftMs)),
      gapMs: distribution(ok.flatMap((s) => s.gapsMs)),
    };
  };
  const base = figure(targets[0]?.name ?? "");
  return Object.fromEntries(
    targets.map((t) => {
      const f = figure(t.name);
      return [t.name, { ...f, addedTtftMs: Math.round((f.ttftMs.p50 - base.ttftMs.p50) * 1000) / 1000 }];
    }),
  );
}

export interface OpenStreamsFigure extends HeldStreams {
  /** RSS just before the streams were opened */
  rssBeforeBytes: number | undefined;
  /** (RSS with the streams open − RSS just before) / open streams */
  bytesPerStream: number | undefined;
}

/** `openStreams` slow streams held open at once per target; the target's RSS while they are. */
export async function openStreams(ctx: Context): Promise<PerTarget<OpenStreamsFigure>> {
  const n = ctx.profile.openStreams;
  // 64 chunks 300 ms apart: each stream outlasts the 15 s given to open them all.
  await setMockRules(ctx.mockUrl, [{ match: { stream: true }, chunks: 64, chunkIntervalMs: 300 }]);
  const out: PerTarget<OpenStreamsFigure> = {};
  try {
    for (const t of ctx.targets) {
      ctx.log(`${n} open streams ${t.name}`);
      const before = targetRss(t);
      const held = await holdStreams(t, n, 15_000, () => targetRss(t));
      out[t.name] = {
        ...held,
        rssBeforeBytes: before,
        bytesPerStream:
          held.measured !== undefined && before !== undefined && held.open > 0
            ? Math.round((held.measured - before) / held.open)
            : undefined,
      };
      await new Promise((r) => setTimeout(r, 1000)); // the aborted streams wind down
    }
  } finally {
    await setMockRules(ctx.mockUrl, []);
  }
  return out;
}
