/**
 * The metrics the workers export on /metrics/ai-gateway, as the alert rules,
 * the dashboard and their tests rely on them: name, Prometheus type and label
 * names (scrape labels such as `instance` and `job` come on top). Histograms
 * are listed by their base name; PromQL reads `_bucket`, `_sum` and `_count`.
 */
export interface MetricSpec {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly labels: readonly string[];
}

const REQUEST = ["organization", "provider", "credential", "model", "request_type"] as const;

/** Every metric name the generated rules and dashboard may read. */
export const METRIC_CATALOG: readonly MetricSpec[] = [
  { name: "llm_gateway_requests_total", type: "counter", labels: [...REQUEST, "user", "status"] },
  { name: "llm_gateway_request_duration_seconds", type: "histogram", labels: REQUEST },
  { name: "llm_gateway_provider_duration_seconds", type: "histogram", labels: REQUEST },
  {
    name: "llm_gateway_gateway_overhead_seconds",
    type: "histogram",
    labels: ["organization", "provider", "request_type"],
  },
  {
    name: "llm_gateway_time_to_first_token_seconds",
    type: "histogram",
    labels: ["organization", "provider", "credential", "model"],
  },
  { name: "llm_gateway_active_requests", type: "gauge", labels: ["organization", "request_type"] },
  { name: "llm_gateway_tokens_total", type: "counter", labels: [...REQUEST, "user", "type"] },
  { name: "llm_gateway_estimated_cost_usd_total", type: "counter", labels: [...REQUEST, "user"] },
  {
    name: "llm_gateway_actual_cost_usd",
    type: "gauge",
    labels: ["organization", "provider", "credential", "period"],
  },
  {
    name: "llm_gateway_errors_total",
    type: "counter",
    labels: [...REQUEST, "status", "error_class", "code"],
  },
  {
    name: "llm_gateway_rate_limit_hits_total",
    type: "counter",
    labels: ["organization", "user", "provider", "credential", "model", "source"],
  },
  { name: "llm_gateway_circuit_state", type: "gauge", labels: ["organization", "provider", "credential"] },
  { name: "llm_gateway_fallbacks_total", type: "counter", labels: ["organization", "model", "error_class"] },
  {
    name: "llm_gateway_retries_total",
    type: "counter",
    labels: ["organization", "provider", "credential", "error_class"],
  },
  {
    name: "llm_gateway_attempt_failures_total",
    type: "counter",
    labels: ["organization", "provider", "credential", "error_class"],
  },
  { name: "llm_gateway_retry_budget_exhausted_total", type: "counter", labels: [] },
  { name: "llm_gateway_usage_buffer_events", type: "gauge", labels: [] },
  { name: "llm_gateway_usage_events_dropped_total", type: "counter", labels: [] },
  { name: "llm_gateway_routing_table_version", type: "gauge", labels: [] },
  { name: "llm_gateway_routing_table_age_seconds", type: "gauge", labels: [] },
];

/** Labels every scraped series carries besides its own. */
export const SCRAPE_LABELS: readonly string[] = ["instance", "job"];

/**
 * The catalog entry a series name belongs to (`…_bucket`, `…_sum` and
 * `…_count` resolve to their histogram), or undefined for an unknown name.
 */
export function metricOfSeries(series: string): MetricSpec | undefined {
  const exact = METRIC_CATALOG.find((m) => m.name === series);
  if (exact) return exact;
  const base = series.replace(/_(bucket|sum|count)$/, "");
  return METRIC_CATALOG.find((m) => m.name === base && m.type === "histogram");
}
