import type { Logger } from "../../../lib/src/logger.js";
import { OperationalEventKind } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { WorkerMetrics } from "../metrics/metrics.js";
import type { OperationalEvents } from "../usage/operational-events.js";
import { className } from "./actions.js";
import type { EngineObserver } from "./engine.js";
import type { CircuitTransition } from "./health.js";

const CIRCUIT_KIND = {
  open: OperationalEventKind.CIRCUIT_OPENED,
  half_open: OperationalEventKind.CIRCUIT_HALF_OPEN,
  closed: OperationalEventKind.CIRCUIT_CLOSED,
} as const;

/**
 * Turns what the routing engine and the circuit breakers see into metrics,
 * aggregated operational events (audit log) and log lines. Only failures,
 * fallbacks and state changes come through here; successes never do.
 */
export function createEngineObserver(
  metrics: WorkerMetrics,
  events: OperationalEvents,
  log: Logger,
): EngineObserver & { circuit(t: CircuitTransition): void } {
  return {
    attemptFailed(target, failure, route) {
      metrics.attemptFailed(target, failure.errorClass);
      const status = failure.upstreamStatus ? `HTTP ${failure.upstreamStatus}` : "no response";
      events.add(
        OperationalEventKind.PROVIDER_ERROR,
        target.credential,
        route.model,
        failure.errorClass,
        `${status}, ${failure.code}`,
      );
    },
    fallback(route, toStep, errorClass, from) {
      metrics.fallback(route.orgId, route.model, errorClass);
      // A step without any eligible target (DISABLED): the event goes to the fallback's credential.
      const credential = from?.credential ?? route.steps[toStep]?.targets[0]?.credential;
      if (!credential) return;
      events.add(
        OperationalEventKind.FALLBACK_ACTIVATED,
        credential,
        route.model,
        errorClass,
        `fallback step ${toStep} of ${route.model} took over (${className(errorClass)})`,
      );
    },
    retry(target, errorClass) {
      metrics.retry(target, errorClass);
    },
    budgetExhausted(route) {
      metrics.retryBudgetExhausted();
      log.warn({ model: route.model }, "retry budget exhausted; returning the provider's error");
    },
    circuit(t) {
      const c = t.credential;
      const level = t.to === "open" ? "warn" : "info";
      log[level](
        {
          credentialId: c.id,
          provider: c.provider.id,
          from: t.from,
          to: t.to,
          errorClass: className(t.errorClass),
        },
        "credential circuit changed",
      );
      events.add(CIRCUIT_KIND[t.to], c, "", t.errorClass, `circuit ${t.from} -> ${t.to}`);
    },
  };
}
