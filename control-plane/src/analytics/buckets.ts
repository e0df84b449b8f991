/**
 * Upper bounds (ms) of the latency histogram kept per minute. The last bucket
 * is open-ended. Percentiles are interpolated inside a bucket, so they are
 * estimates with the bucket's resolution (about ±20 % of the value).
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 15, 25, 40, 60, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10_000, 15_000, 25_000,
  40_000, 60_000, 120_000, 300_000,
] as const;

/**
 * The bucket index of a duration: how many bounds are at most `ms` (0 below
 * the first, LATENCY_BOUNDS_MS.length from the last on), as PostgreSQL's
 * `width_bucket(ms, ARRAY[…bounds])` computes it for a finite value.
 */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi: number = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((LATENCY_BOUNDS_MS[mid] ?? 0) <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The q-quantile (0..1) of a histogram given as counts per bucket index,
 * interpolated linearly within the bucket that holds it.
 */
export function quantileFromBuckets(counts: ReadonlyMap<number, number>, q: number): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  const indexes = [...counts.keys()].sort((a, b) => a - b);
  for (const i of indexes) {
    const c = counts.get(i) ?? 0;
    if (seen + c >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
      const upper = LATENCY_BOUNDS_MS[i] ?? lower * 2;
      return lower + ((rank - seen) / c) * (upper - lower);
    }
    seen += c;
  }
  return LATENCY_BOUNDS_MS.at(-1) ?? 0;
}
