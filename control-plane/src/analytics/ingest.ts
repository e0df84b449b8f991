import { boolArray, numberArray, textArray } from "../db/arrays.js";
import { createParams, type Params } from "../db/params.js";
import { type Db, withTransaction } from "../db/pool.js";
import { rollUp, rollupCtes } from "./rollups.js";
import type { UsageBatch, UsageRecord } from "./usage-rows.js";

/**
 * The INSERT of records into usage_events, each column one array parameter
 * unnested on the server (started_at travels as epoch ms).
 */
function insertEvents(p: Params, batch: UsageBatch, records: readonly UsageRecord[]): string {
  const text = (f: (r: UsageRecord) => string | null) => p.add(textArray(records.map(f)));
  const num = (f: (r: UsageRecord) => number) => p.add(numberArray(records.map(f)));
  return `INSERT INTO usage_events (request_id, org_id, api_key_id, user_id, provider, credential_id,
       requested_model, served_model, request_type, streamed, status_code, error_code, error_class,
       fallback_depth, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, started_at,
       duration_ms, provider_duration_ms, time_to_first_token_ms, attempts, routing_version,
       estimated_cost_usd, worker_id, ingested_at)
     SELECT request_id, org_id, api_key_id, user_id, provider, credential_id,
       requested_model, served_model, request_type, streamed, status_code, error_code, error_class,
       fallback_depth, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, to_timestamp(started_at / 1000),
       duration_ms, provider_duration_ms, time_to_first_token_ms, attempts, routing_version,
       estimated_cost_usd, ${p.add(batch.workerId)}::text, ${p.add(batch.ingestedAt.toISOString())}::timestamptz
     FROM unnest(${text((r) => r.requestId)}::text[], ${text((r) => r.orgId)}::uuid[],
       ${text((r) => r.apiKeyId)}::uuid[], ${text((r) => r.userId)}::text[], ${text((r) => r.provider)}::text[],
       ${text((r) => r.credentialId)}::uuid[], ${text((r) => r.requestedModel)}::text[],
       ${text((r) => r.servedModel)}::text[], ${text((r) => r.requestType)}::text[],
       ${p.add(boolArray(records.map((r) => r.streamed)))}::boolean[], ${num((r) => r.statusCode)}::integer[],
       ${text((r) => r.errorCode)}::text[], ${text((r) => r.errorClass)}::text[],
       ${num((r) => r.fallbackDepth)}::integer[], ${num((r) => r.promptTokens)}::bigint[],
       ${num((r) => r.completionTokens)}::bigint[], ${num((r) => r.cachedTokens)}::bigint[],
       ${num((r) => r.reasoningTokens)}::bigint[], ${num((r) => r.startedAt)}::float8[],
       ${num((r) => r.durationMs)}::float8[], ${num((r) => r.providerDurationMs)}::float8[],
       ${num((r) => r.timeToFirstTokenMs)}::float8[], ${num((r) => r.attempts)}::integer[],
       ${num((r) => r.routingVersion)}::bigint[], ${num((r) => r.estimatedCostUsd)}::float8[])
     AS u(request_id, org_id, api_key_id, user_id, provider, credential_id,
       requested_model, served_model, request_type, streamed, status_code, error_code, error_class,
       fallback_depth, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, started_at,
       duration_ms, provider_duration_ms, time_to_first_token_ms, attempts, routing_version,
       estimated_cost_usd)`;
}

/** The first record of each request id: a second one in the same batch is a duplicate, as across batches. */
function firstPerRequestId(records: readonly UsageRecord[]): UsageRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => !seen.has(r.requestId) && seen.add(r.requestId));
}

/** A duplicate request_id (the only unique index a plain insert of usage events can violate). */
function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "23505";
}

/**
 * Stores a batch of usage events, folds the newly stored ones into the
 * rollups and advances their keys' last_used_at, atomically. Events already
 * stored (same request_id, from an earlier call or earlier in this batch)
 * are skipped and not counted twice. Returns how many events were new.
 *
 * The common case, a batch of new events, is one statement: a plain INSERT
 * with the rollups (folded in JS) in its WITH clause. A plain insert skips
 * ON CONFLICT's speculative insertion, about a quarter of the cost of
 * storing a row. If an event was stored before, that statement fails on the
 * primary key and changes nothing; the batch is then stored with ON CONFLICT
 * DO NOTHING, and only the rows it returns are rolled up, in one
 * transaction. A concurrent call with the same request ids waits on the
 * first one's row locks, so either way each event is counted once.
 */
export async function ingestUsageRows(db: Db, batch: UsageBatch): Promise<number> {
  const records = firstPerRequestId(batch.records);
  if (records.length === 0) return 0;
  try {
    const p = createParams();
    const ctes = rollupCtes(p, rollUp(records));
    // The rollups run after the INSERT (auxiliary statements finish last), so their row locks,
    // shared with concurrent batches, are held from near the end of the statement only.
    await db.query(`WITH ${ctes.join(",\n")}\n${insertEvents(p, batch, records)}`, p.values);
    return records.length;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  return withTransaction(db, async (tx) => {
    const p = createParams();
    const { rows } = await tx.query<{ request_id: string }>(
      `${insertEvents(p, batch, records)} ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
      p.values,
    );
    if (rows.length === 0) return 0;
    const stored = new Set(rows.map((r) => r.request_id));
    const fresh = records.filter((r) => stored.has(r.requestId));
    const q = createParams();
    await tx.query(`WITH ${rollupCtes(q, rollUp(fresh)).join(",\n")}\nSELECT 1`, q.values);
    return fresh.length;
  });
}
