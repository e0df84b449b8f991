import type { Queryable } from "../db/pool.js";
import { bucketSql } from "./buckets.js";

/** A usage_events row as JSON, the shape jsonb_populate_recordset reads. */
export type UsageRow = Record<string, string | number | boolean | null>;

const SUMS = `count(*), count(*) FILTER (WHERE status_code >= 400),
  sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(duration_ms), sum(estimated_cost_usd)`;

/** ON CONFLICT clause adding the new sums to an existing rollup row aliased r. */
const ADD = `requests = r.requests + EXCLUDED.requests,
  errors = r.errors + EXCLUDED.errors,
  prompt_tokens = r.prompt_tokens + EXCLUDED.prompt_tokens,
  completion_tokens = r.completion_tokens + EXCLUDED.completion_tokens,
  cached_tokens = r.cached_tokens + EXCLUDED.cached_tokens,
  duration_ms_sum = r.duration_ms_sum + EXCLUDED.duration_ms_sum,
  cost_usd = r.cost_usd + EXCLUDED.cost_usd`;

/**
 * Stores usage events, folds the newly stored ones into the rollups and
 * advances their keys' last_used_at, in one statement: events already stored (same request_id) are skipped and not
 * counted twice. Returns how many events were new.
 */
export async function ingestUsageRows(db: Queryable, rows: readonly UsageRow[]): Promise<number> {
  const { rows: result } = await db.query<{ accepted: number }>(
    `WITH ins AS (
       INSERT INTO usage_events SELECT * FROM jsonb_populate_recordset(NULL::usage_events, $1::jsonb)
       ON CONFLICT (request_id) DO NOTHING
       RETURNING org_id, started_at, provider, served_model, credential_id, api_key_id, user_id, status_code,
                 prompt_tokens, completion_tokens, cached_tokens, duration_ms, estimated_cost_usd
     ),
     dims AS (
       SELECT ins.*, d.dimension, d.value FROM ins CROSS JOIN LATERAL (VALUES
         ('credential', coalesce(credential_id::text, '')), ('api_key', coalesce(api_key_id::text, '')),
         ('user', user_id)
       ) AS d(dimension, value)
     ),
     by_model AS (
       INSERT INTO usage_rollup_minute AS r
       SELECT org_id, date_trunc('minute', started_at), provider, served_model, ${SUMS}
       FROM ins GROUP BY 1, 2, 3, 4
       ON CONFLICT (org_id, minute, provider, model) DO UPDATE SET ${ADD}
     ),
     latency AS (
       INSERT INTO usage_latency_minute AS l
       SELECT org_id, date_trunc('minute', started_at), ${bucketSql("duration_ms")}, count(*)
       FROM ins GROUP BY 1, 2, 3
       ON CONFLICT (org_id, minute, bucket) DO UPDATE SET requests = l.requests + EXCLUDED.requests
     ),
     by_minute AS (
       INSERT INTO usage_rollup_minute_by AS r
       SELECT org_id, dimension, date_trunc('minute', started_at), value, ${SUMS}
       FROM dims GROUP BY 1, 2, 3, 4
       ON CONFLICT (org_id, dimension, minute, value) DO UPDATE SET ${ADD}
     ),
     last_used AS (
       UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, m.last)
       FROM (SELECT api_key_id, max(started_at) AS last FROM ins WHERE api_key_id IS NOT NULL GROUP BY 1) AS m
       WHERE k.id = m.api_key_id
     ),
     by_hour AS (
       INSERT INTO usage_rollup_hour_by AS r
       SELECT org_id, dimension, date_trunc('hour', started_at), value, ${SUMS}
       FROM dims GROUP BY 1, 2, 3, 4
       ON CONFLICT (org_id, dimension, hour, value) DO UPDATE SET ${ADD}
     )
     SELECT count(*)::int AS accepted FROM ins`,
    [JSON.stringify(rows)],
  );
  return result[0]?.accepted ?? 0;
}
