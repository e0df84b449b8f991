import type { Registry } from "prom-client";
import type { MetricsConfig } from "../config.js";
import { NO_OBSERVER, type RequestObserver } from "../observe/observer.js";
import type { RoutingTable } from "../table/routing-table.js";

/**
 * The request metrics of the product documents on /metrics/ai-gateway
 * (requests, durations, tokens, cost, errors, rate limits, active requests),
 * as a request observer. Being written for issue 6.
 */
export function createRequestMetrics(
  _registry: Registry,
  _table: RoutingTable,
  _config: MetricsConfig,
): RequestObserver {
  return NO_OBSERVER;
}
