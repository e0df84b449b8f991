import type { Registry } from "prom-client";
import type { MetricsConfig } from "../config.js";
import type { Account } from "../handlers/account.js";
import { NO_OBSERVER, type RequestObserver, type RequestTrace } from "../observe/observer.js";
import type { RoutingTable } from "../table/routing-table.js";
import { type ActualCostTable, registerActualCost } from "./actual-cost.js";
import {
  codeLabel,
  createUserLabels,
  DURATION_BUCKETS,
  errorClassLabel,
  OVERHEAD_BUCKETS,
  rateLimitSource,
  TTFT_BUCKETS,
  UNKNOWN_MODEL,
} from "./labels.js";
import { CounterFamily, GaugeFamily, type HistogramCell, HistogramFamily, type ValueCell } from "./series.js";

/** What the request metrics read from the routing table. */
export type RequestMetricsTable = ActualCostTable & Pick<RoutingTable, "findRoute">;

const NO_ATTEMPT = { end: () => {} };
const SEP = "\u0001";
const TOKEN_TYPES = ["prompt", "completion", "cached", "reasoning"] as const;

/** The cells one label combination (org, user, provider, credential, model, type, status) updates. */
interface Series {
  readonly labels: readonly [string, string, string, string, string, string, string];
  readonly requests: ValueCell;
  readonly duration: HistogramCell;
  readonly overhead: HistogramCell;
  provider: HistogramCell | undefined;
  ttft: HistogramCell | undefined;
  cost: ValueCell | undefined;
  readonly tokens: Array<ValueCell | undefined>;
  errors: Map<string, ValueCell> | undefined;
  rateLimit: ValueCell | undefined;
}

/**
 * The request metrics of the product documents on /metrics/ai-gateway:
 * requests, end-to-end / provider / overhead durations, time to first token,
 * active requests, tokens, estimated cost, errors and rate-limit hits, per
 * organization (slug), user, provider, credential (name), requested model and
 * request type; and the actual provider cost the billing sync puts in the
 * routing table, read at scrape time. Unauthenticated requests are not
 * counted. Each label combination's cells are cached under one joined key,
 * so a finished request costs one Map lookup plus additions
 * (docs/observability-metrics.md has the measured cost and the bounds).
 * Disabled (`LLM_GATEWAY_METRICS=off`): no request metrics, NO_OBSERVER.
 */
export function createRequestMetrics(
  registry: Registry,
  table: RequestMetricsTable,
  config: MetricsConfig,
): RequestObserver {
  registerActualCost(registry, table);
  if (!config.enabled) return NO_OBSERVER;

  const byRequest = ["organization", "provider", "credential", "model", "request_type"];
  const requests = new CounterFamily(
    registry,
    "llm_gateway_requests_total",
    "Finished authenticated requests by organization, user, provider, credential, model, request type and HTTP status.",
    ["organization", "user", "provider", "credential", "model", "request_type", "status"],
  );
  const duration = new HistogramFamily(
    registry,
    "llm_gateway_request_duration_seconds",
    "End-to-end request duration as the gateway saw it (a stream until its last byte), seconds.",
    byRequest,
    DURATION_BUCKETS,
  );
  const providerDuration = new HistogramFamily(
    registry,
    "llm_gateway_provider_duration_seconds",
    "Time waiting on upstream providers per request (every attempt, failed ones included), seconds.",
    byRequest,
    DURATION_BUCKETS,
  );
  const overhead = new HistogramFamily(
    registry,
    "llm_gateway_gateway_overhead_seconds",
    "Time spent inside the gateway per request (duration minus provider time), seconds.",
    ["organization", "provider", "request_type"],
    OVERHEAD_BUCKETS,
  );
  const ttft = new HistogramFamily(
    registry,
    "llm_gateway_time_to_first_token_seconds",
    "Streams: time from arrival to the first bytes relayed to the client, seconds.",
    ["organization", "provider", "credential", "model"],
    TTFT_BUCKETS,
  );
  const active = new GaugeFamily(
    registry,
    "llm_gateway_active_requests",
    "Authenticated requests in progress (streams until their last byte).",
    ["organization", "request_type"],
  );
  const tokens = new CounterFamily(
    registry,
    "llm_gateway_tokens_total",
    "Tokens by type (prompt, completion, cached, reasoning) as the providers reported them.",
    ["organization", "user", "provider", "credential", "model", "request_type", "type"],
  );
  const cost = new CounterFamily(
    registry,
    "llm_gateway_estimated_cost_usd_total",
    "Estimated spend in USD from token usage and prices (0 for models without a price).",
    ["organization", "user", "provider", "credential", "model", "request_type"],
  );
  const errors = new CounterFamily(
    registry,
    "llm_gateway_errors_total",
    "Authenticated requests that ended with HTTP status >= 400, gateway and provider errors alike.",
    [...byRequest, "status", "error_class", "code"],
  );
  const rateLimits = new CounterFamily(
    registry,
    "llm_gateway_rate_limit_hits_total",
    'Requests that ended rate limited: source="provider" (upstream 429s), "gateway" (its own limits).',
    ["organization", "user", "provider", "credential", "model", "source"],
  );

  const userOf = createUserLabels(config);
  const slugOf = (orgId: string) => table.orgSlug(orgId) ?? orgId;
  const cache = new Map<string, Series>();
  const activeCells = new Map<string, ValueCell>();
  const activeCell = (org: string, requestType: string) => {
    const id = `${org}${SEP}${requestType}`;
    let cell = activeCells.get(id);
    if (!cell) {
      cell = active.cell([org, requestType]);
      activeCells.set(id, cell);
    }
    return cell;
  };

  function seriesFor(id: string, labels: Series["labels"]): Series {
    const [org, , provider, credential, model, requestType] = labels;
    const s: Series = {
      labels,
      requests: requests.cell(labels),
      duration: duration.cell([org, provider, credential, model, requestType]),
      overhead: overhead.cell([org, provider, requestType]),
      provider: undefined,
      ttft: undefined,
      cost: undefined,
      tokens: [undefined, undefined, undefined, undefined],
      errors: undefined,
      rateLimit: undefined,
    };
    cache.set(id, s);
    return s;
  }

  /** A requested model is a label value only when the organization routes it (clients choose the string). */
  const modelLabel = (orgId: string, model: string) =>
    model === "" || table.findRoute(orgId, model) ? model : UNKNOWN_MODEL;

  function record(a: Account, org: string, status: number, code: string): void {
    const key = a.key;
    if (!key) return;
    const target = a.target;
    const user = userOf(key);
    const provider = target ? target.credential.provider.id : "";
    const credential = target ? target.credential.entry.name : "";
    const model = target ? a.model : modelLabel(key.orgId, a.model);
    const id = `${org}${SEP}${user}${SEP}${provider}${SEP}${credential}${SEP}${model}${SEP}${a.requestType}${SEP}${status}`;
    const s =
      cache.get(id) ?? seriesFor(id, [org, user, provider, credential, model, a.requestType, String(status)]);

    s.requests.value += 1;
    const seconds = a.durationMs / 1000;
    const providerSeconds = (a.providerMs + a.failedAttemptsMs) / 1000;
    duration.observe(s.duration, seconds);
    overhead.observe(s.overhead, Math.max(0, seconds - providerSeconds));
    if (target) {
      s.provider ??= providerDuration.cell([org, provider, credential, model, a.requestType]);
      providerDuration.observe(s.provider, providerSeconds);
      s.cost ??= cost.cell(s.labels.slice(0, 6));
      s.cost.value += a.costUsd;
      if (a.streamed && a.ttftMs > 0) {
        s.ttft ??= ttft.cell([org, provider, credential, model]);
        ttft.observe(s.ttft, a.ttftMs / 1000);
      }
    }
    const u = a.usage;
    if (u) {
      addTokens(s, 0, u.promptTokens);
      addTokens(s, 1, u.completionTokens);
      addTokens(s, 2, u.cachedTokens);
      addTokens(s, 3, u.reasoningTokens);
    }
    if (status >= 400) {
      const errorClass = errorClassLabel(a.errorClass);
      const errorCode = codeLabel(code);
      const errorId = `${errorClass}${SEP}${errorCode}`;
      s.errors ??= new Map();
      let cell = s.errors.get(errorId);
      if (!cell) {
        cell = errors.cell([
          org,
          provider,
          credential,
          model,
          a.requestType,
          String(status),
          errorClass,
          errorCode,
        ]);
        s.errors.set(errorId, cell);
      }
      cell.value += 1;
      const source = rateLimitSource(status, code);
      if (source) {
        s.rateLimit ??= rateLimits.cell([org, user, provider, credential, model, source]);
        s.rateLimit.value += 1;
      }
    }
  }

  function addTokens(s: Series, i: 0 | 1 | 2 | 3, n: number): void {
    if (!(n > 0)) return;
    let cell = s.tokens[i];
    if (!cell) {
      cell = tokens.cell([...s.labels.slice(0, 6), TOKEN_TYPES[i]]);
      s.tokens[i] = cell;
    }
    cell.value += n;
  }

  /** One request's trace: the active-requests cell it raised, released and recorded exactly once. */
  class Trace implements RequestTrace {
    org = "";
    active: ValueCell | undefined = undefined;
    done = false;
    authenticated(a: Account): void {
      if (!a.key || this.active || this.done) return;
      this.org = slugOf(a.key.orgId);
      this.active = activeCell(this.org, a.requestType);
      this.active.value += 1;
    }
    attempt() {
      return NO_ATTEMPT;
    }
    committed(): void {}
    finish(a: Account, status: number, code: string): void {
      if (this.done) return;
      this.done = true;
      if (this.active) this.active.value -= 1;
      else if (a.key) this.org = slugOf(a.key.orgId);
      else return; // unauthenticated: not tenant traffic
      record(a, this.org, status, code);
    }
  }

  return { start: () => new Trace() };
}
