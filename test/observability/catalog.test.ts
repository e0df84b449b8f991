import { describe, expect, it } from "vitest";
import { METRIC_CATALOG } from "../../lib/src/observability/metric-catalog.js";
import { loadWorkerConfig } from "../../worker/src/config.js";
import { createWorkerMetrics } from "../../worker/src/metrics/metrics.js";
import { createRequestMetrics } from "../../worker/src/metrics/request-metrics.js";
import { createCredentialHealth } from "../../worker/src/routing/health.js";
import { createRoutingTable } from "../../worker/src/table/routing-table.js";

/** What the registry knows of a metric: prom-client's classes and the worker's own families alike. */
interface Registered {
  name: string;
  type?: string;
  labelNames?: readonly string[];
}

/**
 * The alert rules and the dashboard are written against METRIC_CATALOG; this
 * compares it with the registry a worker really builds (as worker/src/main.ts
 * wires it), so a renamed metric or label fails here rather than silently
 * emptying an alert.
 */
describe("the metric catalog of the rules and the dashboard", () => {
  it("matches the worker's registry: every name, type and label", async () => {
    const config = loadWorkerConfig({ LLM_GATEWAY_WORKER_TOKEN: "test-token" });
    const table = createRoutingTable();
    const metrics = createWorkerMetrics({
      table,
      health: createCredentialHealth(config.routing.health),
      usageBuffered: () => 0,
      operationalDropped: () => 0,
    });
    createRequestMetrics(metrics.registry, table, config.metrics);
    const registered = new Map(
      (metrics.registry.getMetricsAsArray() as unknown as Registered[]).map((m) => [m.name, m]),
    );
    const actual = METRIC_CATALOG.map((spec) => {
      const m = registered.get(spec.name);
      return { name: spec.name, type: m?.type, labels: [...(m?.labelNames ?? [])].sort() };
    });
    const expected = METRIC_CATALOG.map((spec) => ({
      name: spec.name,
      type: spec.type,
      labels: [...spec.labels].sort(),
    }));
    expect(actual).toEqual(expected);
  });
});
