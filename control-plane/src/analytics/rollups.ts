import { numberArray, textArray } from "../db/arrays.js";
import type { Params } from "../db/params.js";
import { latencyBucket } from "./buckets.js";
import type { UsageRecord } from "./usage-rows.js";

/** Sums kept per rollup row (the columns after its key). */
interface Sums {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  durationMs: number;
  costUsd: number;
}

/** A rollup row's key: its organization, minute (epoch minutes) and two more text columns. */
interface Group extends Sums {
  orgId: string;
  minute: number;
  a: string;
  b: string;
}

/**
 * One batch's usage folded per rollup row, in JS, so each rollup row is
 * upserted once per batch rather than grouped by the server. Rows are in key
 * order, so concurrent batches lock shared rollup rows in the same order.
 */
export interface UsageRollups {
  /** usage_rollup_minute: (org, minute, provider, model). */
  byModel: Group[];
  /** usage_latency_minute: (org, minute, bucket); `a` is the bucket index. */
  latency: Group[];
  /** usage_rollup_minute_by: (org, minute, dimension, value); usage_rollup_hour_by derives from it. */
  byDimension: Group[];
  /** api_keys.last_used_at: the latest start (epoch ms) per key. */
  lastUsed: { apiKeyId: string; at: number }[];
}

const MINUTE_MS = 60_000;

/**
 * Groups keyed by (org, minute, a, b) in nested maps: a lookup hashes each
 * part once per string (V8 caches a string's hash) instead of building and
 * hashing a joined key per event.
 */
type Groups = Map<string, Map<number, Map<string, Map<string, Group>>>>;

function level<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function add(groups: Groups, orgId: string, minute: number, a: string, b: string, r: UsageRecord) {
  const byB = level(
    level(
      level(groups, orgId, () => new Map()),
      minute,
      () => new Map(),
    ),
    a,
    () => new Map(),
  );
  let g = byB.get(b);
  if (!g) {
    g = {
      orgId,
      minute,
      a,
      b,
      requests: 0,
      errors: 0,
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      durationMs: 0,
      costUsd: 0,
    };
    byB.set(b, g);
  }
  g.requests++;
  if (r.statusCode >= 400) g.errors++;
  g.promptTokens += r.promptTokens;
  g.completionTokens += r.completionTokens;
  g.cachedTokens += r.cachedTokens;
  g.durationMs += r.durationMs;
  g.costUsd += r.estimatedCostUsd;
}

const compare = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0);

/** The groups in key order (org, minute, a, b). */
function sorted(groups: Groups): Group[] {
  const out: Group[] = [];
  for (const g of groups.values())
    for (const h of g.values()) for (const i of h.values()) for (const j of i.values()) out.push(j);
  return out.sort(
    (x, y) =>
      compare(x.orgId, y.orgId) || compare(x.minute, y.minute) || compare(x.a, y.a) || compare(x.b, y.b),
  );
}

/**
 * Folds newly stored records into the rollups. A minute is the UTC minute,
 * which is the session's date_trunc('minute') in every time zone whose
 * offset is a whole number of minutes; hours are truncated by the server.
 */
export function rollUp(records: readonly UsageRecord[]): UsageRollups {
  const byModel: Groups = new Map();
  const latency: Groups = new Map();
  const byDimension: Groups = new Map();
  const lastUsed = new Map<string, number>();
  for (const r of records) {
    const minute = Math.floor(r.startedAt / MINUTE_MS);
    add(byModel, r.orgId, minute, r.provider, r.servedModel, r);
    add(latency, r.orgId, minute, String(latencyBucket(r.durationMs)), "", r);
    add(byDimension, r.orgId, minute, "credential", r.credentialId ?? "", r);
    add(byDimension, r.orgId, minute, "api_key", r.apiKeyId ?? "", r);
    add(byDimension, r.orgId, minute, "user", r.userId, r);
    if (r.apiKeyId !== null && !(r.startedAt <= (lastUsed.get(r.apiKeyId) ?? Number.NEGATIVE_INFINITY)))
      lastUsed.set(r.apiKeyId, r.startedAt);
  }
  return {
    byModel: sorted(byModel),
    latency: sorted(latency),
    byDimension: sorted(byDimension),
    lastUsed: [...lastUsed].sort(([x], [y]) => compare(x, y)).map(([apiKeyId, at]) => ({ apiKeyId, at })),
  };
}

/** ON CONFLICT clause adding the new sums to an existing rollup row aliased r. */
const ADD = `requests = r.requests + EXCLUDED.requests,
  errors = r.errors + EXCLUDED.errors,
  prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
  completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
  cached_tokens = r.cached_tokens + EXCLUDED.cached_tokens,
  duration_ms_sum = r.duration_ms_sum + EXCLUDED.duration_ms_sum,
  cost_usd = r.cost_usd + EXCLUDED.cost_usd`;
const SUM_COLUMNS =
  "requests, errors, prompt_tokens, completion_tokens, cached_tokens, duration_ms_sum, cost_usd";

/** The key and sums arrays of groups, as unnest() arguments (org, minute, a, b, sums…). */
function unnestGroups(p: Params, groups: readonly Group[], withB: boolean): string {
  const col = (f: (g: Group) => number) => numberArray(groups.map(f));
  return [
    `${p.add(textArray(groups.map((g) => g.orgId)))}::uuid[]`,
    `${p.add(col((g) => g.minute))}::bigint[]`,
    `${p.add(textArray(groups.map((g) => g.a)))}::text[]`,
    ...(withB ? [`${p.add(textArray(groups.map((g) => g.b)))}::text[]`] : []),
    `${p.add(col((g) => g.requests))}::bigint[]`,
    ...(withB
      ? [
          `${p.add(col((g) => g.errors))}::bigint[]`,
          `${p.add(col((g) => g.promptTokens))}::bigint[]`,
          `${p.add(col((g) => g.completionTokens))}::bigint[]`,
          `${p.add(col((g) => g.cachedTokens))}::bigint[]`,
          `${p.add(col((g) => g.durationMs))}::float8[]`,
          `${p.add(col((g) => g.costUsd))}::float8[]`,
        ]
      : []),
  ].join(", ");
}

/**
 * Common table expressions (`name AS (…)`, comma-separated) that add the
 * rollups to their tables and advance the keys' last use, with their
 * parameters appended to `p`. Empty rollups give no expressions.
 */
export function rollupCtes(p: Params, r: UsageRollups): string[] {
  if (r.byModel.length === 0) return [];
  const sums = "n, e, pt, ct, cat, d, c";
  const byDimension = unnestGroups(p, r.byDimension, true);
  const ctes = [
    `by_model AS (
       INSERT INTO usage_rollup_minute AS r (org_id, minute, provider, model, ${SUM_COLUMNS})
       SELECT o, to_timestamp(m * 60), a, b, ${sums}
       FROM unnest(${unnestGroups(p, r.byModel, true)}) AS u(o, m, a, b, ${sums})
       ON CONFLICT (org_id, minute, provider, model) DO UPDATE SET ${ADD})`,
    `latency AS (
       INSERT INTO usage_latency_minute AS l (org_id, minute, bucket, requests)
       SELECT o, to_timestamp(m * 60), a::smallint, n
       FROM unnest(${unnestGroups(p, r.latency, false)}) AS u(o, m, a, n)
       ON CONFLICT (org_id, minute, bucket) DO UPDATE SET requests = l.requests + EXCLUDED.requests)`,
    `by_minute AS (
       INSERT INTO usage_rollup_minute_by AS r (org_id, dimension, minute, value, ${SUM_COLUMNS})
       SELECT o, a, to_timestamp(m * 60), b, ${sums}
       FROM unnest(${byDimension}) AS u(o, m, a, b, ${sums})
       ON CONFLICT (org_id, dimension, minute, value) DO UPDATE SET ${ADD})`,
    // The session's hour (date_trunc honours its time zone), summed from the same minute groups.
    `by_hour AS (
       INSERT INTO usage_rollup_hour_by AS r (org_id, dimension, hour, value, ${SUM_COLUMNS})
       SELECT o, a, date_trunc('hour', to_timestamp(m * 60)), b,
              sum(n), sum(e), sum(pt), sum(ct), sum(cat), sum(d), sum(c)
       FROM unnest(${byDimension}) AS u(o, m, a, b, ${sums})
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
       ON CONFLICT (org_id, dimension, hour, value) DO UPDATE SET ${ADD})`,
  ];
  if (r.lastUsed.length > 0) {
    const ids = p.add(textArray(r.lastUsed.map((k) => k.apiKeyId)));
    const at = p.add(numberArray(r.lastUsed.map((k) => k.at)));
    ctes.push(`last_used AS (
       UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, to_timestamp(u.at / 1000))
       FROM unnest(${ids}::uuid[], ${at}::float8[]) AS u(id, at) WHERE k.id = u.id)`);
  }
  return ctes;
}
