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
