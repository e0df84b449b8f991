import {
  aboveBaseline,
  histogramMean,
  indentAfterFirst,
  REQUEST_LABELS as REQ,
  ratio,
  sumBy,
  sumRate,
} from "./alert-expr.js";
import { USAGE_AND_OPERATIONS_GROUPS } from "./alert-rules-usage.js";
import { type RunbookKey, THRESHOLDS as T } from "./alert-thresholds.js";

/** One Prometheus alerting rule, before rendering. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the expression must hold before the alert fires (Prometheus `for`). */
  readonly for: string;
  readonly severity: "critical" | "warning";
  /** What to do: a key of RUNBOOKS. */
  readonly runbook: RunbookKey;
  readonly summary: string;
  readonly description: string;
}

/** A rule group of the generated rules file. */
export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

const ERRORS_5XX = 'llm_gateway_errors_total{status=~"5.."}';
const REQUESTS = "llm_gateway_requests_total";
const OFF = T.baselineOffset;
const BASE = T.baselineWindow;
const where = "{{ $labels.request_type }} requests of {{ $labels.organization }} to {{ $labels.model }}";
const via = "on {{ $labels.provider }} (credential {{ $labels.credential }})";
const traffic = (labels: readonly string[], metric: string, window: string) =>
  `${sumRate(labels, metric, window)} > ${T.minRequestRate}`;

const overheadMean = (window: string, offset?: string) =>
  histogramMean(
    ["organization", "provider", "request_type"],
    "llm_gateway_gateway_overhead_seconds",
    window,
    offset,
  );

const latencyTarget = (quantile: "P95" | "P99", target: number): AlertRule => ({
  alert: `LLMGatewayLatency${quantile}AboveTarget`,
  expr:
    `histogram_quantile(${quantile === "P95" ? 0.95 : 0.99}, ` +
    `${sumRate(["le", ...REQ], "llm_gateway_request_duration_seconds_bucket", "5m")}) > ${target}\n` +
    `and ${traffic(REQ, "llm_gateway_request_duration_seconds_count", "5m")}`,
  for: "10m",
  severity: "warning",
  runbook: "performance",
  summary: `{{ $labels.provider }} {{ $labels.model }}: ${quantile} latency above ${target}s`,
  description:
    `${quantile} duration of ${where} ${via} is {{ $value | humanizeDuration }} over 5 minutes, above the ` +
    `${target}s target. Compare llm_gateway_provider_duration_seconds with ` +
    "llm_gateway_gateway_overhead_seconds to see where the time goes.",
});

/** The alerting rules, by group: every alert the product documents recommend plus operational ones. */
export const ALERT_GROUPS: readonly AlertGroup[] = [
  {
    name: "llm-gateway.errors",
    rules: [
      {
        alert: "LLMGatewayErrorRateAboveBaseline",
        expr: `${aboveBaseline(
          ratio(sumRate(REQ, ERRORS_5XX, "5m"), sumRate(REQ, REQUESTS, "5m")),
          ratio(sumRate(REQ, ERRORS_5XX, BASE, OFF), sumRate(REQ, REQUESTS, BASE, OFF), true),
          T.errorBaselineFactor,
          T.errorRatioFloor,
          sumRate(REQ, REQUESTS, "5m"),
        )}\nand ${traffic(REQ, REQUESTS, "5m")}`,
        for: "10m",
        severity: "critical",
        runbook: "providerOutage",
        summary: "{{ $labels.provider }} {{ $labels.model }}: error rate above baseline",
        description:
          `{{ $value | humanizePercentage }} of ${where} ${via} failed with a 5xx status over 5 minutes: ` +
          `above ${T.errorRatioFloor * 100}% and ${T.errorBaselineFactor}× the same hour yesterday.`,
      },
      {
        alert: "LLMGatewayProviderAuthFailures",
        expr: `${sumBy(
          ["organization", "provider", "credential"],
          'increase(llm_gateway_attempt_failures_total{error_class="auth"}[10m])',
        )} > 0`,
        for: "0m",
        severity: "warning",
        runbook: "providerOutage",
        summary: "{{ $labels.provider }} rejects credential {{ $labels.credential }}",
        description:
          "{{ $labels.provider }} answered 401/403 to credential {{ $labels.credential }} of " +
          "{{ $labels.organization }} about {{ $value | humanize }} times in 10 minutes: the provider key " +
          "was revoked, expired or lost a permission. Rotate or disable the credential.",
      },
    ],
  },
  {
    name: "llm-gateway.latency",
    rules: [
      latencyTarget("P95", T.latencyP95TargetSeconds),
      latencyTarget("P99", T.latencyP99TargetSeconds),
      {
        alert: "LLMGatewayProviderSlowdown",
        expr:
          `${histogramMean(REQ, "llm_gateway_provider_duration_seconds", "10m")}\n` +
          `> ${T.providerSlowdownFactor} * ${histogramMean(REQ, "llm_gateway_provider_duration_seconds", BASE, OFF)}\n` +
          `and ${traffic(REQ, "llm_gateway_provider_duration_seconds_count", "10m")}\n` +
          "unless on (organization, provider, request_type)\n" +
          `(\n  ${indentAfterFirst(`${overheadMean("10m")}\n> ${T.providerSlowdownFactor} * ${overheadMean(BASE, OFF)}`)}\n)`,
        for: "15m",
        severity: "warning",
        runbook: "performance",
        summary: "{{ $labels.provider }} {{ $labels.model }} is slower than usual",
        description:
          `Mean provider duration of ${where} ${via} is {{ $value | humanizeDuration }} over 10 minutes, ` +
          `more than ${T.providerSlowdownFactor}× the same hour yesterday, while gateway overhead did not ` +
          "grow alike: the time is spent at the provider.",
      },
      {
        alert: "LLMGatewayGatewayOverheadHigh",
        expr: aboveBaseline(
          histogramMean(["request_type"], "llm_gateway_gateway_overhead_seconds", "10m"),
          histogramMean(["request_type"], "llm_gateway_gateway_overhead_seconds", BASE, OFF),
          T.overheadFactor,
          T.overheadFloorSeconds,
          sumRate(["request_type"], "llm_gateway_gateway_overhead_seconds_count", "10m"),
        ),
        for: "15m",
        severity: "warning",
        runbook: "performance",
        summary: "Gateway overhead up across providers ({{ $labels.request_type }})",
        description:
          "Mean time spent inside the gateway for {{ $labels.request_type }} requests, all providers " +
          `together, is {{ $value | humanizeDuration }} over 10 minutes: more than ${T.overheadFactor}× ` +
          `the same hour yesterday and above ${T.overheadFloorSeconds * 1000}ms. Look for CPU, memory or ` +
          "event-loop pressure on the workers.",
      },
      {
        alert: "LLMGatewayActiveRequestsStuck",
        expr: aboveBaseline(
          sumBy(["organization", "request_type"], "llm_gateway_active_requests"),
          sumBy(
            ["organization", "request_type"],
            `avg_over_time(llm_gateway_active_requests[${BASE}] offset ${OFF})`,
          ),
          T.activeRequestsFactor,
          T.activeRequestsFloor,
          sumBy(["organization", "request_type"], "llm_gateway_active_requests"),
        ),
        for: T.activeRequestsFor,
        severity: "warning",
        runbook: "performance",
        summary: "{{ $labels.organization }}: {{ $value }} {{ $labels.request_type }} requests in flight",
        description:
          "{{ $value }} {{ $labels.request_type }} requests of {{ $labels.organization }} have been in " +
          `flight for ${T.activeRequestsFor}: more than ${T.activeRequestsFactor}× the same hour yesterday ` +
          `and above ${T.activeRequestsFloor}. Providers may hang, or clients stream longer than usual.`,
      },
    ],
  },
  ...USAGE_AND_OPERATIONS_GROUPS,
];
