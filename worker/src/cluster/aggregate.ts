import { AggregatorRegistry } from "prom-client";
import type { Exposition } from "./child.js";
import type { RegistrySamples } from "./messages.js";

/**
 * One exposition from the samples of every worker process: each metric is
 * combined by its `aggregator` (counters and histograms add up; gauges say
 * how: in-flight requests add up, the routing-table version takes the
 * lowest, its age and circuit states the highest, values copied from the
 * routing table the first).
 */
export async function aggregateSamples(perProcess: RegistrySamples[]): Promise<Exposition> {
  const registry = AggregatorRegistry.aggregate(perProcess);
  return { body: await registry.metrics(), contentType: registry.contentType };
}
