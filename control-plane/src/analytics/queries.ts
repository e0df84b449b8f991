import type { Queryable } from "../db/pool.js";
import { quantileFromBuckets } from "./buckets.js";

export interface Range {
  orgId: string;
  start: Date;
  end: Date;
}

/** Low-cardinality dimensions are columns of usage_rollup_minute; the others live in the *_by tables. */
export type DimensionColumn = "provider" | "model" | "credential" | "api_key" | "user";
const isColumn = (d: DimensionColumn): d is "provider" | "model" => d === "provider" || d === "model";
const HOUR = 3600_000;

export interface Totals {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  durationMsSum: number;
  costUsd: number;
}

export const TOTALS = `coalesce(sum(requests), 0)::float8 AS requests, coalesce(sum(errors), 0)::float8 AS errors,
  coalesce(sum(prompt_tokens), 0)::float8 AS prompt_tokens, coalesce(sum(completion_tokens), 0)::float8 AS completion_tokens,
  coalesce(sum(cached_tokens), 0)::float8 AS cached_tokens, coalesce(sum(duration_ms_sum), 0)::float8 AS duration_ms_sum,
  coalesce(sum(cost_usd), 0)::float8 AS cost_usd`;
const IN_RANGE = "org_id = $1 AND minute >= $2 AND minute < $3";

export interface TotalsRow {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  duration_ms_sum: number;
  cost_usd: number;
}

export const toTotals = (r: TotalsRow | undefined): Totals => ({
  requests: r?.requests ?? 0,
  errors: r?.errors ?? 0,
  promptTokens: r?.prompt_tokens ?? 0,
  completionTokens: r?.completion_tokens ?? 0,
  cachedTokens: r?.cached_tokens ?? 0,
  durationMsSum: r?.duration_ms_sum ?? 0,
  costUsd: r?.cost_usd ?? 0,
});

/** Sums of the minute rollups in the range. */
export async function totals(db: Queryable, r: Range): Promise<Totals> {
  const { rows } = await db.query<TotalsRow>(`SELECT ${TOTALS} FROM usage_rollup_minute WHERE ${IN_RANGE}`, [
    r.orgId,
    r.start,
    r.end,
  ]);
  return toTotals(rows[0]);
}

/** Latency percentiles (ms) from the summed histogram of the range. */
export async function latencyQuantiles(db: Queryable, r: Range, qs: readonly number[]): Promise<number[]> {
  const { rows } = await db.query<{ bucket: number; n: number }>(
    `SELECT bucket, sum(requests)::float8 AS n FROM usage_latency_minute WHERE ${IN_RANGE} GROUP BY bucket`,
    [r.orgId, r.start, r.end],
  );
  const counts = new Map(rows.map((row) => [row.bucket, row.n]));
  return qs.map((q) => quantileFromBuckets(counts, q));
}

export async function activeProviders(db: Queryable, orgId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(DISTINCT provider)::int AS n FROM credentials WHERE org_id = $1 AND enabled",
    [orgId],
  );
  return rows[0]?.n ?? 0;
}

/** Breakdown order: most requests, or highest estimated cost, first. */
export type BreakdownOrder = "requests" | "cost";

/**
 * Totals per value of one dimension, most requests (or cost) first. For credentials and
 * keys, whole hours are read from the hourly rollup and only the partial
 * hours at the range's edges from the minute rollup.
 */
export async function breakdown(
  db: Queryable,
  r: Range,
  d: DimensionColumn,
  order: BreakdownOrder = "requests",
): Promise<Array<Totals & { key: string }>> {
  const orderBy = order === "cost" ? "cost_usd DESC, requests DESC" : "requests DESC";
  let sql: string;
  let params: unknown[];
  if (isColumn(d)) {
    sql = `SELECT ${d} AS key, ${TOTALS} FROM usage_rollup_minute WHERE ${IN_RANGE} GROUP BY 1 ORDER BY ${orderBy} LIMIT 1000`;
    params = [r.orgId, r.start, r.end];
  } else {
    const hStart = new Date(Math.ceil(r.start.getTime() / HOUR) * HOUR);
    const hEnd = new Date(Math.floor(r.end.getTime() / HOUR) * HOUR);
    const wholeHours = hStart < hEnd;
    sql = `SELECT value AS key, ${TOTALS} FROM (
        SELECT value, requests, errors, prompt_tokens, completion_tokens, cached_tokens, duration_ms_sum, cost_usd
        FROM usage_rollup_hour_by WHERE org_id = $1 AND dimension = $4 AND hour >= $5 AND hour < $6
        UNION ALL
        SELECT value, requests, errors, prompt_tokens, completion_tokens, cached_tokens, duration_ms_sum, cost_usd
        FROM usage_rollup_minute_by WHERE org_id = $1 AND dimension = $4
          AND ((minute >= $2 AND minute < $5) OR (minute >= $6 AND minute < $3))
      ) AS parts GROUP BY 1 ORDER BY ${orderBy} LIMIT 1000`;
    // Without a whole hour inside the range, the "edge" is the whole range and the hourly part is empty.
    params = wholeHours
      ? [r.orgId, r.start, r.end, d, hStart, hEnd]
      : [r.orgId, r.start, r.end, d, r.end, r.end];
  }
  const { rows } = await db.query<TotalsRow & { key: string }>(sql, params);
  return rows.map((row) => ({ key: row.key, ...toTotals(row) }));
}

export type SeriesMetric = "requests" | "errors" | "tokens" | "latency_mean_ms" | "cost_usd";

const METRIC_SQL: Record<SeriesMetric, string> = {
  requests: "sum(requests)::float8",
  errors: "sum(errors)::float8",
  tokens: "sum(prompt_tokens + completion_tokens)::float8",
  latency_mean_ms: "(sum(duration_ms_sum) / nullif(sum(requests), 0))::float8",
  cost_usd: "sum(cost_usd)::float8",
};

/** One value per step (and per dimension value when grouped); steps without data are omitted. */
export async function timeSeries(
  db: Queryable,
  r: Range,
  metric: SeriesMetric,
  stepSeconds: number,
  d: DimensionColumn | undefined,
): Promise<Array<{ key: string; time: Date; value: number }>> {
  const byDimension = d !== undefined && !isColumn(d);
  const key = d === undefined ? "''" : byDimension ? "value" : d;
  const table = byDimension ? "usage_rollup_minute_by" : "usage_rollup_minute";
  const params: unknown[] = [r.orgId, r.start, r.end, stepSeconds];
  if (byDimension) params.push(d);
  const { rows } = await db.query<{ key: string; time: Date; value: number | null }>(
    `SELECT ${key} AS key,
            to_timestamp(floor(extract(epoch FROM minute) / $4) * $4) AS time,
            ${METRIC_SQL[metric]} AS value
     FROM ${table} WHERE ${IN_RANGE}${byDimension ? " AND dimension = $5" : ""} GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
  return rows.map((row) => ({ key: row.key, time: row.time, value: row.value ?? 0 }));
}
