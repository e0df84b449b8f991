import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Queryable } from "../db/pool.js";
import { canonicalUuid } from "../db/uuid.js";
import { errorClassToDb } from "../services/mappers.js";
import { estimateCosts } from "./pricing.js";

/** Most usage events one IngestUsage call may carry. */
export const MAX_USAGE_BATCH = 5000;
/** Deepest fallback step a route can have (RouteService allows 8 steps). */
const MAX_FALLBACK_DEPTH = 8;

/**
 * The fields of a llmgateway.v1.UsageEvent as ingestion reads them: a
 * protobuf-es UsageEvent, or the plain object decodeUsageEvent makes from
 * its bytes (uint64 as number there, bigint here).
 */
export interface UsageEventFields {
  requestId: string;
  orgId: string;
  apiKeyId: string;
  userId: string;
  provider: string;
  credentialId: string;
  requestedModel: string;
  servedModel: string;
  requestType: string;
  streamed: boolean;
  statusCode: number;
  errorCode: string;
  promptTokens: bigint | number;
  completionTokens: bigint | number;
  cachedTokens: bigint | number;
  reasoningTokens: bigint | number;
  startedAt?: { seconds: bigint | number; nanos: number } | undefined;
  durationMs: number;
  providerDurationMs: number;
  timeToFirstTokenMs: number;
  attempts: number;
  routingVersion: bigint | number;
  estimatedCostUsd: number;
  /** An ErrorClass value. */
  errorClass: number;
  fallbackDepth: number;
}

/**
 * One usage event, validated, as ingestUsage stores it in usage_events (one
 * field per column; worker_id and ingested_at are the batch's). Ids are in
 * canonical form, so equal ids are equal strings.
 */
export interface UsageRecord {
  requestId: string;
  orgId: string;
  apiKeyId: string | null;
  userId: string;
  provider: string;
  credentialId: string | null;
  requestedModel: string;
  servedModel: string;
  requestType: string;
  streamed: boolean;
  statusCode: number;
  errorCode: string;
  /** "" on success, else the lower-case class name ("rate_limited"). */
  errorClass: string;
  fallbackDepth: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  providerDurationMs: number;
  timeToFirstTokenMs: number;
  attempts: number;
  routingVersion: number;
  estimatedCostUsd: number;
}

/** A validated IngestUsage batch. */
export interface UsageBatch {
  workerId: string;
  ingestedAt: Date;
  records: UsageRecord[];
}

const bad = (message: string) => new ConnectError(message, Code.InvalidArgument);

function uuid(value: string, field: string, i: number): string {
  const id = canonicalUuid(value);
  if (id === undefined) throw bad(`events[${i}].${field} must be a UUID`);
  return id;
}

/** Durations and costs must be finite: usage_events stores neither NaN nor infinities. */
function finite(value: number, field: string, i: number): number {
  if (!Number.isFinite(value)) throw bad(`events[${i}].${field} must be a finite number`);
  return value;
}

/** "" on success, else the lower-case class name ("rate_limited"); unknown values are refused. */
function errorClassOf(c: number, i: number): string {
  if (c === ErrorClass.UNSPECIFIED) return "";
  if (ErrorClass[c] === undefined) throw bad(`events[${i}].error_class is not a known error class`);
  return errorClassToDb(c);
}

/**
 * Validates a batch and maps it to usage_events records. Throws
 * InvalidArgument naming the first bad event, so a bad call stores nothing.
 */
export function usageRecords(workerId: string, events: readonly UsageEventFields[]): UsageBatch {
  if (events.length > MAX_USAGE_BATCH) throw bad(`at most ${MAX_USAGE_BATCH} events per batch`);
  const now = Date.now();
  const records = events.map((e, i): UsageRecord => {
    if (!e.requestId || !e.orgId) throw bad("events need request_id and org_id");
    if (e.fallbackDepth > MAX_FALLBACK_DEPTH) {
      throw bad(`events[${i}].fallback_depth must be at most ${MAX_FALLBACK_DEPTH}`);
    }
    // As protobuf-es' timestampMs: whole milliseconds, nanos rounded.
    const startedAt = e.startedAt
      ? Number(e.startedAt.seconds) * 1000 + Math.round(e.startedAt.nanos / 1_000_000)
      : now;
    // Date's range; PostgreSQL refuses the far past of it, which rejects the batch there.
    if (!(Math.abs(startedAt) <= 8.64e15)) throw bad(`events[${i}].started_at is out of range`);
    return {
      requestId: e.requestId,
      orgId: uuid(e.orgId, "org_id", i),
      apiKeyId: e.apiKeyId ? uuid(e.apiKeyId, "api_key_id", i) : null,
      userId: e.userId,
      provider: e.provider,
      credentialId: e.credentialId ? uuid(e.credentialId, "credential_id", i) : null,
      requestedModel: e.requestedModel,
      servedModel: e.servedModel,
      requestType: e.requestType,
      streamed: e.streamed,
      statusCode: e.statusCode,
      errorCode: e.errorCode,
      errorClass: errorClassOf(e.errorClass, i),
      fallbackDepth: e.fallbackDepth,
      promptTokens: Number(e.promptTokens),
      completionTokens: Number(e.completionTokens),
      cachedTokens: Number(e.cachedTokens),
      reasoningTokens: Number(e.reasoningTokens),
      startedAt,
      durationMs: finite(e.durationMs, "duration_ms", i),
      providerDurationMs: finite(e.providerDurationMs, "provider_duration_ms", i),
      timeToFirstTokenMs: finite(e.timeToFirstTokenMs, "time_to_first_token_ms", i),
      attempts: e.attempts,
      routingVersion: Number(e.routingVersion),
      estimatedCostUsd: finite(e.estimatedCostUsd, "estimated_cost_usd", i),
    };
  });
  return { workerId, ingestedAt: new Date(now), records };
}

/**
 * Fills in, in place, the estimated cost of records the worker did not
 * price: the organization's override, else the catalog, else 0. Records
 * without tokens cost 0 at any price and are not looked up; when none is
 * left, no query runs. A pricing failure leaves them at 0 rather than
 * losing the batch.
 */
export async function priceRecords(db: Queryable, records: readonly UsageRecord[]): Promise<void> {
  const unpriced = records.filter(
    (r) => r.estimatedCostUsd === 0 && (r.promptTokens > 0 || r.completionTokens > 0 || r.cachedTokens > 0),
  );
  if (unpriced.length === 0) return;
  const costs = await estimateCosts(
    db,
    unpriced.map((r) => ({
      orgId: r.orgId,
      provider: r.provider,
      model: r.servedModel,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      cachedTokens: r.cachedTokens,
      at: r.startedAt,
    })),
  ).catch(() => unpriced.map(() => 0));
  unpriced.forEach((r, n) => {
    r.estimatedCostUsd = costs[n] ?? 0;
  });
}
