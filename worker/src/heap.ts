import { setFlagsFromString } from "node:v8";

/**
 * Bounds the old generation's growth between full collections to `percent` of the live heap
 * (V8's `--heap-growing-percent`; read by V8 whenever it sets the next limit, so it takes effect
 * when set at run time). Under steady load V8's own heuristics let the old generation grow to
 * several times the live heap before a mark-compact, so RSS saws by tens of MB; at 20 % a full
 * collection comes every few seconds instead, costs a few ms on a heap this size, and RSS stays
 * flat (docs/performance.md, "Memory over a 10-minute soak"). 0 leaves V8's heuristics.
 */
export function applyHeapGrowth(percent: number, set: (flags: string) => void = setFlagsFromString): boolean {
  if (!(percent > 0)) return false;
  set(`--heap-growing-percent=${Math.round(percent)}`);
  return true;
}

/**
 * glibc malloc settings the gateway's processes run with (the image sets them with ENV; the
 * cluster primary passes them to the processes it forks unless already set). V8 compiles on
 * background threads, and glibc gives each thread its own arena, whose freed memory it rarely
 * returns to the system: after undici's WebAssembly HTTP parser is optimized on the first
 * requests, Node 20 keeps about 10 MB resident that way. With two arenas the worker settles at
 * 69–70 MB instead of 80–81 MB, and its CPU per request is unchanged (docs/performance.md).
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

/** The entries of MALLOC_ENV that `env` does not set (an operator's own value wins). */
export function mallocDefaults(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(MALLOC_ENV)) if (env[k] === undefined) out[k] = v;
  return out;
}

/**
 * V8 flags the gateway's processes run with; they only take effect on node's command line (V8
 * reads them when the heap is set up, and NODE_OPTIONS refuses them), so the launcher passes them:
 * the image's entrypoint, the cluster primary for the processes it forks, `npm start`, the
 * benchmarks' workers.
 *
 * `--no-memory-reducer`: a while after traffic stops (about 95 s on the benchmark machine) V8's
 * memory reducer runs full collections to shrink the heap; they also throw away optimized code
 * whose embedded objects died with the last requests ("weak objects": 21–77 functions of the
 * request path per collection, traced with --trace-deopt). The next burst then runs on slower
 * tiers until V8 optimizes them again, which at 1,000 req/s on one process queued requests for
 * 2–3 s (docs/performance.md, "After an idle"). The cost: an idle worker keeps the heap its last
 * traffic left until its next collection (118 MB after a burst and 150 s idle, 79 MB with the
 * reducer).
 */
export const NODE_FLAGS: readonly string[] = ["--no-memory-reducer"];

/** The NODE_FLAGS `execArgv` lacks (a flag given otherwise, e.g. `--memory-reducer`, wins). */
export function missingNodeFlags(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.map((a) => a.replace(/^--no-/, "--").split("=")[0]));
  return NODE_FLAGS.filter((f) => !given.has(f.replace(/^--no-/, "--")));
}

/** `execArgv` with the NODE_FLAGS it lacks. */
export function withNodeFlags(execArgv: readonly string[]): string[] {
  return [...execArgv, ...missingNodeFlags(execArgv)];
}
