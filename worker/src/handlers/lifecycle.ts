import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestObserver } from "../observe/observer.js";
import type { PriceBook } from "../pricing/price-book.js";
import type { AttemptResult } from "../routing/engine.js";
import type { CompiledTarget } from "../table/compile.js";
import type { RoutingTable } from "../table/routing-table.js";
import type { UsageReporter } from "../usage/usage-reporter.js";
import { type Account, closeAccount, openAccount, providerTime } from "./account.js";

export interface LifecycleDeps {
  table: RoutingTable;
  usage: UsageReporter;
  prices: PriceBook;
  observer: RequestObserver;
  /** Take a well-formed incoming `x-request-id` as the request id (LLM_GATEWAY_TRUST_REQUEST_ID). */
  trustRequestId?: boolean;
}

/**
 * One request from arrival to its usage event: the account, the observer's
 * trace (metrics, spans), provider attempts timed, the latency decomposition
 * header, and `finish` pricing the request, recording usage and ending the
 * trace exactly once.
 */
export interface Lifecycle {
  readonly a: Account;
  authenticated(): void;
  /** Wraps an attempt function: timed (failed attempts' time counts as provider time) and traced. */
  attempts<T>(
    fn: (target: CompiledTarget) => Promise<AttemptResult<T>>,
  ): (target: CompiledTarget) => Promise<AttemptResult<T>>;
  /**
   * Sets `Server-Timing: gateway;dur=…, provider;dur=…` (time inside the
   * gateway versus waiting on providers so far) and notes the commit; call
   * just before the response head is written. `providerStart`: when the
   * attempt being relayed started (a stream still in progress).
   */
  commit(res: ServerResponse, providerStart?: number): void;
  finish(status: number, code: string): void;
}

export function beginRequest(deps: LifecycleDeps, req: IncomingMessage, requestType: string): Lifecycle {
  const a = openAccount(req, requestType, deps.trustRequestId === true);
  const trace = deps.observer.start(a);
  let finished = false;
  return {
    a,
    authenticated: () => trace.authenticated(a),
    attempts(fn) {
      return async (target) => {
        const span = trace.attempt(a, target);
        const t0 = performance.now();
        const result = await fn(target);
        if (!result.ok) a.failedAttemptsMs += performance.now() - t0;
        span.end(result);
        return result;
      };
    },
    commit(res, providerStart) {
      const now = performance.now();
      const elapsed = now - a.started;
      const provider = providerTime(a) + (providerStart === undefined ? 0 : now - providerStart);
      res.setHeader(
        "server-timing",
        `gateway;dur=${(elapsed - provider).toFixed(2)}, provider;dur=${provider.toFixed(2)}`,
      );
      trace.committed(a);
    },
    finish(status, code) {
      if (finished) return;
      finished = true;
      a.durationMs = performance.now() - a.started;
      const key = a.key;
      const target = a.target;
      if (key && target) {
        a.costUsd = deps.prices.estimate(
          key.orgId,
          target.credential.provider.id,
          target.upstreamModel,
          a.usage,
          a.startedAt,
        );
      }
      closeAccount(deps.usage, a, status, code, deps.table.version);
      trace.finish(a, status, code);
    },
  };
}
