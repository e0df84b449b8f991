import { Counter, Gauge, Registry } from "prom-client";
import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { className } from "../routing/actions.js";
import type { CircuitState, CredentialHealth } from "../routing/health.js";
import type { CompiledTarget } from "../table/compile.js";
import type { CredentialRecord, RoutingTable } from "../table/routing-table.js";

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** What the metrics read at scrape time rather than on the request path. */
export interface MetricsSources {
  table: RoutingTable;
  health: CredentialHealth;
  usageBuffered: () => number;
  operationalDropped: () => number;
}

/**
 * The worker's Prometheus registry, served on /metrics/ai-gateway. Counters
 * move only off the success path (failures, fallbacks, retries, drops);
 * gauges are read from their sources at scrape time, so serving a request
 * pays nothing for them.
 */
export interface WorkerMetrics {
  readonly registry: Registry;
  attemptFailed(target: CompiledTarget, errorClass: ErrorClass): void;
  fallback(orgId: string, model: string, errorClass: ErrorClass): void;
  retry(target: CompiledTarget, errorClass: ErrorClass): void;
  retryBudgetExhausted(): void;
  usageDropped(count: number): void;
}

export function createWorkerMetrics(sources: MetricsSources): WorkerMetrics {
  const registry = new Registry();
  const { table, health } = sources;
  const org = (orgId: string) => table.orgSlug(orgId) ?? orgId;
  const credentialLabels = (c: CredentialRecord) => ({
    organization: org(c.orgId),
    provider: c.provider.id,
    credential: c.entry.name,
  });

  const failures = new Counter({
    name: "llm_gateway_attempt_failures_total",
    help: "Failed provider attempts by error class (each retry or fallback attempt counts).",
    labelNames: ["organization", "provider", "credential", "error_class"],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: "llm_gateway_fallbacks_total",
    help: "Requests moved to a fallback step, by the error class that triggered it.",
    labelNames: ["organization", "model", "error_class"],
    registers: [registry],
  });
  const retries = new Counter({
    name: "llm_gateway_retries_total",
    help: "Provider attempts after a request's first (same target, other target or fallback).",
    labelNames: ["organization", "provider", "credential", "error_class"],
    registers: [registry],
  });
  const budget = new Counter({
    name: "llm_gateway_retry_budget_exhausted_total",
    help: "Requests that could not retry because the worker's retry budget was spent.",
    registers: [registry],
  });
  const dropped = new Counter({
    name: "llm_gateway_usage_events_dropped_total",
    help: "Usage events dropped because the buffer was full while the control plane was unreachable.",
    registers: [registry],
  });
  new Gauge({
    name: "llm_gateway_usage_buffer_events",
    help: "Usage events waiting for delivery to the control plane.",
    registers: [registry],
    collect() {
      this.set(sources.usageBuffered());
    },
  });
  new Gauge({
    name: "llm_gateway_operational_events_dropped",
    help: "Operational events dropped because too many distinct events were open at once.",
    registers: [registry],
    collect() {
      this.set(sources.operationalDropped());
    },
  });
  new Gauge({
    name: "llm_gateway_circuit_state",
    aggregator: "max",
    help: "Circuit breaker state per credential: 0 closed, 1 half-open, 2 open.",
    labelNames: ["organization", "provider", "credential"],
    registers: [registry],
    collect() {
      this.reset();
      health.prune((c) => table.findCredential(c.id) === c);
      for (const { credential, state } of health.states()) {
        this.set(credentialLabels(credential), CIRCUIT_VALUE[state]);
      }
    },
  });
  new Gauge({
    name: "llm_gateway_routing_table_version",
    aggregator: "min",
    help: "Version of the routing table this worker serves with (0: none yet).",
    registers: [registry],
    collect() {
      this.set(table.version);
    },
  });
  new Gauge({
    name: "llm_gateway_routing_table_age_seconds",
    aggregator: "max",
    help: "Seconds since the last message (change or heartbeat) from the control plane.",
    registers: [registry],
    collect() {
      this.set(table.lastSyncAt === 0 ? 0 : (Date.now() - table.lastSyncAt) / 1000);
    },
  });

  return {
    registry,
    attemptFailed(target, errorClass) {
      failures.inc({ ...credentialLabels(target.credential), error_class: className(errorClass) });
    },
    fallback(orgId, model, errorClass) {
      fallbacks.inc({ organization: org(orgId), model, error_class: className(errorClass) });
    },
    retry(target, errorClass) {
      retries.inc({ ...credentialLabels(target.credential), error_class: className(errorClass) });
    },
    retryBudgetExhausted() {
      budget.inc();
    },
    usageDropped(count) {
      dropped.inc(count);
    },
  };
}
