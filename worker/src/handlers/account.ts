import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Usage } from "../providers/types.js";
import type { CompiledTarget } from "../table/compile.js";
import type { KeyRecord } from "../table/routing-table.js";
import type { UsageReporter } from "../usage/usage-reporter.js";

/**
 * What one request did, filled in as it goes and turned into one usage event
 * at the end: who, which route and target, how long the gateway and the
 * provider took, tokens, outcome, attempts and fallback depth.
 */
export interface Account {
  readonly requestId: string;
  /** performance.now() at arrival. */
  readonly started: number;
  readonly startedAt: number;
  readonly requestType: string;
  key: KeyRecord | undefined;
  model: string;
  streamed: boolean;
  target: CompiledTarget | undefined;
  /** performance.now() when the successful (or last) provider call started. */
  providerStart: number;
  /** Provider time of the successful (or last) attempt. */
  providerMs: number;
  /** Provider time of the attempts that failed before it. */
  failedAttemptsMs: number;
  ttftMs: number;
  attempts: number;
  fallbackDepth: number;
  errorClass: ErrorClass;
  usage: Usage | undefined;
  /** Estimated cost in USD, set when the request ends. */
  costUsd: number;
  /** Whole request as the gateway saw it, ms; set when the request ends. */
  durationMs: number;
  /** The caller's W3C `traceparent` header, for tracing to continue its trace. */
  readonly traceparent?: string;
}

const REQUEST_ID = /^[\w.:-]{8,128}$/;

/**
 * The request id, which is also the usage event's idempotency key: a new
 * UUID, unless the worker trusts the incoming `x-request-id` (only behind a
 * proxy that replaces the client's, as the shipped Envoy config does) and it
 * is well formed. Trusting a client's id would let it reuse one and have
 * its later usage dropped as a duplicate.
 */
export function requestIdOf(req: IncomingMessage, trustIncoming: boolean): string {
  if (!trustIncoming) return randomUUID();
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

export function openAccount(req: IncomingMessage, requestType: string, trustRequestId = false): Account {
  const traceparent = req.headers.traceparent;
  return {
    ...(typeof traceparent === "string" ? { traceparent } : {}),
    requestId: requestIdOf(req, trustRequestId),
    started: performance.now(),
    startedAt: Date.now(),
    requestType,
    key: undefined,
    model: "",
    streamed: false,
    target: undefined,
    providerStart: 0,
    providerMs: 0,
    failedAttemptsMs: 0,
    ttftMs: 0,
    attempts: 0,
    fallbackDepth: 0,
    errorClass: ErrorClass.UNSPECIFIED,
    usage: undefined,
    costUsd: 0,
    durationMs: 0,
  };
}

/** Time waiting on providers: every attempt's, the failed ones included. */
export const providerTime = (a: Account) => a.providerMs + a.failedAttemptsMs;

/** Records the request's usage event; unauthenticated requests are not tenant usage. */
export function closeAccount(
  usage: UsageReporter,
  a: Account,
  status: number,
  errorCode: string,
  routingVersion: number,
): void {
  const key = a.key;
  if (!key) return;
  const u = a.usage;
  const target = a.target;
  const startedAt = a.startedAt;
  // Plain numbers and strings: the reporter encodes them into the event's protobuf bytes at once.
  usage.record({
    requestId: a.requestId,
    orgId: key.orgId,
    apiKeyId: key.id,
    userId: key.userId,
    provider: target?.credential.provider.id ?? "",
    credentialId: target?.credential.id ?? "",
    requestedModel: a.model,
    servedModel: target?.upstreamModel ?? "",
    requestType: a.requestType,
    streamed: a.streamed,
    statusCode: status,
    errorCode,
    errorClass: a.errorClass,
    promptTokens: u?.promptTokens ?? 0,
    completionTokens: u?.completionTokens ?? 0,
    cachedTokens: u?.cachedTokens ?? 0,
    reasoningTokens: u?.reasoningTokens ?? 0,
    startedAtMs: startedAt,
    durationMs: a.durationMs,
    providerDurationMs: providerTime(a),
    timeToFirstTokenMs: a.ttftMs,
    attempts: a.attempts,
    fallbackDepth: a.fallbackDepth,
    routingVersion,
    estimatedCostUsd: a.costUsd,
  });
}
