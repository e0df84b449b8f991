import { aboveBaseline, ratio, sumRate } from "./alert-expr.js";
import type { AlertGroup, AlertRule } from "./alert-rules.js";
import { THRESHOLDS as T } from "./alert-thresholds.js";

const OFF = T.baselineOffset;
const BASE = T.baselineWindow;

/** Rate-limit hits / requests by `labels`, above max(factor × yesterday, floor), with enough traffic. */
function rateLimitRatio(labels: readonly string[], source: "provider" | "gateway", floor: number): string {
  const hits = `llm_gateway_rate_limit_hits_total{source="${source}"}`;
  const requests = "llm_gateway_requests_total";
  return `${aboveBaseline(
    ratio(sumRate(labels, hits, "5m"), sumRate(labels, requests, "5m")),
    ratio(sumRate(labels, hits, BASE, OFF), sumRate(labels, requests, BASE, OFF), true),
    T.rateLimitBaselineFactor,
    floor,
    sumRate(labels, requests, "5m"),
  )}\nand ${sumRate(labels, requests, "5m")} > ${T.minRequestRate}`;
}

const fallbacks = (window: string, offset?: string) =>
  sumRate(["organization", "model"], "llm_gateway_fallbacks_total", window, offset);

const RATE_LIMIT_RULES: readonly AlertRule[] = [
  {
    alert: "LLMGatewayProviderRateLimited",
    expr: rateLimitRatio(
      ["organization", "provider", "credential", "model"],
      "provider",
      T.providerRateLimitRatioFloor,
    ),
    for: "10m",
    severity: "warning",
    runbook: "rateLimits",
    summary: "{{ $labels.provider }} rate-limits credential {{ $labels.credential }}",
    description:
      "{{ $value | humanizePercentage }} of requests of {{ $labels.organization }} to {{ $labels.model }} " +
      "on {{ $labels.provider }} (credential {{ $labels.credential }}) met a provider rate limit over 5 " +
      `minutes: above ${T.providerRateLimitRatioFloor * 100}% and ${T.rateLimitBaselineFactor}× the same ` +
      "hour yesterday. Raise the provider quota or spread the weight over more credentials.",
  },
  {
    alert: "LLMGatewayGatewayRateLimitHitsHigh",
    expr: rateLimitRatio(["organization", "user"], "gateway", T.gatewayRateLimitRatioFloor),
    for: "10m",
    severity: "warning",
    runbook: "rateLimits",
    summary: "{{ $labels.organization }}: user {{ $labels.user }} keeps hitting gateway limits",
    description:
      "{{ $value | humanizePercentage }} of the requests of user {{ $labels.user }} of " +
      `{{ $labels.organization }} were blocked or delayed by gateway rate limits over 5 minutes: above ` +
      `${T.gatewayRateLimitRatioFloor * 100}% and ${T.rateLimitBaselineFactor}× the same hour yesterday.`,
  },
];

const tokenSpike = (scope: "Organization" | "User", labels: string[], floor: number): AlertRule => {
  const selector = 'llm_gateway_tokens_total{type=~"prompt|completion"}';
  const now = sumRate(labels, selector, T.spikeWindow);
  const who =
    scope === "User" ? "user {{ $labels.user }} of {{ $labels.organization }}" : "{{ $labels.organization }}";
  return {
    alert: `LLMGatewayTokenSpike${scope}`,
    expr: aboveBaseline(now, sumRate(labels, selector, "1h", T.spikeWindow), T.tokenSpikeFactor, floor, now),
    for: "5m",
    severity: "warning",
    runbook: "budget",
    summary: `Token usage spike: ${who}`,
    description:
      `${who} is using {{ $value | humanize }} tokens per second (prompt + completion, last ${T.spikeWindow}), ` +
      `more than ${T.tokenSpikeFactor}× the hour before and above ${floor}/s.`,
  };
};

const costSpike = (): AlertRule => {
  const labels = ["organization", "provider", "model"];
  const now = `${sumRate(labels, "llm_gateway_estimated_cost_usd_total", T.spikeWindow)} * 3600`;
  const before = `${sumRate(labels, "llm_gateway_estimated_cost_usd_total", "1h", T.spikeWindow)} * 3600`;
  return {
    alert: "LLMGatewayCostSpike",
    expr: aboveBaseline(now, before, T.costSpikeFactor, T.costSpikeFloorUsdPerHour, now),
    for: "5m",
    severity: "warning",
    runbook: "budget",
    summary: "{{ $labels.organization }}: estimated spend spike on {{ $labels.model }}",
    description:
      'The estimated spend of {{ $labels.organization }} on {{ $labels.model }} ({{ $labels.provider }}) is {{ $value | printf "%.2f" }} USD per hour ' +
      `over the last ${T.spikeWindow}: more than ${T.costSpikeFactor}× the hour before and above ` +
      `${T.costSpikeFloorUsdPerHour} USD/h.`,
  };
};

/** Consumption (tokens, cost, rate limits), routing (fallbacks, circuits, retry budget, routing table) and usage delivery. */
export const USAGE_AND_OPERATIONS_GROUPS: readonly AlertGroup[] = [
  {
    name: "llm-gateway.consumption",
    rules: [
      tokenSpike("Organization", ["organization"], T.tokenSpikeFloorOrganization),
      tokenSpike("User", ["organization", "user"], T.tokenSpikeFloorUser),
      costSpike(),
      ...RATE_LIMIT_RULES,
    ],
  },
  {
    name: "llm-gateway.routing",
    rules: [
      {
        alert: "LLMGatewayFallbacksAboveExpected",
        expr: aboveBaseline(
          fallbacks("10m"),
          fallbacks(BASE, OFF),
          T.fallbackFactor,
          T.fallbackFloorPerSecond,
          fallbacks("10m"),
        ),
        for: "10m",
        severity: "warning",
        runbook: "providerOutage",
        summary: "{{ $labels.organization }} {{ $labels.model }}: requests rely on fallback routes",
        description:
          "Requests of {{ $labels.organization }} for {{ $labels.model }} moved to a fallback step " +
          '{{ $value | printf "%.2f" }} times per second over 10 minutes: more than ' +
          `${T.fallbackFactor}× the same hour yesterday and above ${T.fallbackFloorPerSecond}/s. ` +
          "The primary targets are failing; see llm_gateway_fallbacks_total by error_class.",
      },
      {
        alert: "LLMGatewayCircuitOpen",
        expr: `max by (organization, provider, credential) (avg_over_time(llm_gateway_circuit_state[10m])) >= ${T.circuitOpenAverage}`,
        for: "5m",
        severity: "warning",
        runbook: "providerOutage",
        summary: "Circuit open for credential {{ $labels.credential }} ({{ $labels.provider }})",
        description:
          "The circuit breaker of credential {{ $labels.credential }} ({{ $labels.provider }}, " +
          "{{ $labels.organization }}) has been open or half-open most of the last 10 minutes on at least " +
          "one worker: requests skip it and rely on its route's other targets and fallbacks.",
      },
      {
        alert: "LLMGatewayRetryBudgetExhausted",
        expr: "rate(llm_gateway_retry_budget_exhausted_total[5m]) > 0",
        for: "5m",
        severity: "warning",
        runbook: "providerOutage",
        summary: "Worker {{ $labels.instance }} ran out of retry budget",
        description:
          'Worker {{ $labels.instance }} could not retry {{ $value | printf "%.2f" }} requests per second over 5 ' +
          "minutes because its retry budget was spent: providers are failing widely and clients get the " +
          "first failure.",
      },
      {
        alert: "LLMGatewayRoutingTableStale",
        expr: `llm_gateway_routing_table_age_seconds > ${T.routingTableMaxAgeSeconds}`,
        for: "2m",
        severity: "critical",
        runbook: "controlPlane",
        summary: "Worker {{ $labels.instance }} has not heard from the control plane",
        description:
          "Worker {{ $labels.instance }} last received a routing-table message {{ $value | humanizeDuration }} " +
          "ago. It keeps serving its last table, but credential, key and route changes (revocations " +
          "included) do not reach it.",
      },
      {
        alert: "LLMGatewayRoutingTableBehind",
        expr:
          "llm_gateway_routing_table_version\n" +
          "< on (job) group_left () max by (job) (llm_gateway_routing_table_version)",
        for: "10m",
        severity: "warning",
        runbook: "controlPlane",
        summary: "Worker {{ $labels.instance }} serves an old routing table",
        description:
          "Worker {{ $labels.instance }} serves routing-table version {{ $value }}, older than other " +
          "workers of {{ $labels.job }}, for 10 minutes (0: it never received a table).",
      },
    ],
  },
  {
    name: "llm-gateway.delivery",
    rules: [
      {
        alert: "LLMGatewayUsageBufferGrowing",
        expr: `llm_gateway_usage_buffer_events > ${T.usageBufferMaxEvents}`,
        for: "5m",
        severity: "warning",
        runbook: "controlPlane",
        summary: "Worker {{ $labels.instance }} cannot deliver usage events",
        description:
          "{{ $value }} usage events wait for delivery on worker {{ $labels.instance }}: the control plane " +
          "does not acknowledge IngestUsage. Beyond LLM_GATEWAY_USAGE_BUFFER_EVENTS the oldest are dropped.",
      },
      {
        alert: "LLMGatewayUsageEventsDropped",
        expr: "increase(llm_gateway_usage_events_dropped_total[10m]) > 0",
        for: "0m",
        severity: "critical",
        runbook: "controlPlane",
        summary: "Worker {{ $labels.instance }} dropped usage events",
        description:
          "Worker {{ $labels.instance }} dropped about {{ $value | humanize }} usage events in 10 minutes " +
          "(buffer full while the control plane was unreachable): analytics, cost and audit miss them.",
      },
    ],
  },
];
