import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { UsageEvent } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { Queryable } from "../db/pool.js";
import { errorClassToDb } from "../services/mappers.js";
import { estimateCosts } from "./pricing.js";

/** Most usage events one IngestUsage call may carry. */
export const MAX_USAGE_BATCH = 5000;
/** Deepest fallback step a route can have (RouteService allows 8 steps). */
const MAX_FALLBACK_DEPTH = 8;

/** A usage_events row, keyed by column, as ingestUsageRows stores it. */
export interface UsageRecord {
  [column: string]: string | number | boolean | null;
  request_id: string;
  org_id: string;
  provider: string;
  served_model: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  estimated_cost_usd: number;
}

/** "" on success, else the lower-case class name ("rate_limited"); unknown values are refused. */
function errorClassOf(c: ErrorClass, i: number): string {
  if (c === ErrorClass.UNSPECIFIED) return "";
  if (ErrorClass[c] === undefined)
    throw new ConnectError(`events[${i}].error_class is not a known error class`, Code.InvalidArgument);
  return errorClassToDb(c);
}

/** Validates a batch and maps it to usage_events rows. Throws InvalidArgument on a bad event. */
export function usageRecords(workerId: string, events: readonly UsageEvent[]): UsageRecord[] {
  if (events.length > MAX_USAGE_BATCH) {
    throw new ConnectError(`at most ${MAX_USAGE_BATCH} events per batch`, Code.InvalidArgument);
  }
  const ingestedAt = new Date().toISOString();
  return events.map((e, i) => {
    if (!e.requestId || !e.orgId)
      throw new ConnectError("events need request_id and org_id", Code.InvalidArgument);
    if (e.fallbackDepth > MAX_FALLBACK_DEPTH) {
      throw new ConnectError(
        `events[${i}].fallback_depth must be at most ${MAX_FALLBACK_DEPTH}`,
        Code.InvalidArgument,
      );
    }
    return {
      request_id: e.requestId,
      org_id: e.orgId,
      api_key_id: e.apiKeyId || null,
      user_id: e.userId,
      provider: e.provider,
      credential_id: e.credentialId || null,
      requested_model: e.requestedModel,
      served_model: e.servedModel,
      request_type: e.requestType,
      streamed: e.streamed,
      status_code: e.statusCode,
      error_code: e.errorCode,
      error_class: errorClassOf(e.errorClass, i),
      fallback_depth: e.fallbackDepth,
      prompt_tokens: Number(e.promptTokens),
      completion_tokens: Number(e.completionTokens),
      cached_tokens: Number(e.cachedTokens),
      reasoning_tokens: Number(e.reasoningTokens),
      started_at: (e.startedAt ? timestampDate(e.startedAt) : new Date()).toISOString(),
      duration_ms: e.durationMs,
      provider_duration_ms: e.providerDurationMs,
      time_to_first_token_ms: e.timeToFirstTokenMs,
      attempts: e.attempts,
      routing_version: Number(e.routingVersion),
      worker_id: workerId,
      estimated_cost_usd: e.estimatedCostUsd,
      ingested_at: ingestedAt,
    };
  });
}

/**
 * Fills in the estimated cost of rows the worker did not price: the
 * organization's override, else the catalog, else 0. A pricing failure
 * leaves them at 0 rather than losing the batch.
 */
export async function priceRecords(db: Queryable, rows: readonly UsageRecord[]): Promise<UsageRecord[]> {
  const costs = await estimateCosts(
    db,
    rows.map((r) => ({
      orgId: r.org_id,
      provider: r.provider,
      model: r.served_model,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      cachedTokens: r.cached_tokens,
      at: Date.parse(String(r.started_at)),
    })),
  ).catch(() => rows.map(() => 0));
  return rows.map((r, n) => ({ ...r, estimated_cost_usd: r.estimated_cost_usd || (costs[n] ?? 0) }));
}
