import type { Account } from "../handlers/account.js";
import type { AttemptResult } from "../routing/engine.js";
import type { CompiledTarget } from "../table/compile.js";

/**
 * Hooks at the points of a request's life that metrics and traces need. The
 * handlers call them through handlers/lifecycle.ts; observers never change
 * what the request does, and the common path (no failure) calls each hook
 * once.
 */
export interface RequestObserver {
  /** A request arrived; the handle sees the rest of it. */
  start(a: Account): RequestTrace;
}

export interface RequestTrace {
  /** The caller is known (a.key is set). */
  authenticated(a: Account): void;
  /** A provider attempt starts; its handle is ended with the attempt's result. */
  attempt(a: Account, target: CompiledTarget): AttemptTrace;
  /** The response is committed: headers sent (a stream's first bytes follow). */
  committed(a: Account): void;
  /** The request ended with this status and error code ("" on success); a is complete. */
  finish(a: Account, status: number, code: string): void;
}

export interface AttemptTrace {
  end(result: AttemptResult<unknown>): void;
}

const NO_ATTEMPT: AttemptTrace = { end: () => {} };
const NO_TRACE: RequestTrace = {
  authenticated: () => {},
  attempt: () => NO_ATTEMPT,
  committed: () => {},
  finish: () => {},
};

/** An observer that does nothing (metrics and tracing off). */
export const NO_OBSERVER: RequestObserver = { start: () => NO_TRACE };

/** Several observers as one; with a single observer, that observer itself. */
export function combineObservers(observers: readonly RequestObserver[]): RequestObserver {
  const active = observers.filter((o) => o !== NO_OBSERVER);
  if (active.length === 0) return NO_OBSERVER;
  if (active.length === 1) return active[0] as RequestObserver;
  return {
    start(a) {
      const traces = active.map((o) => o.start(a));
      return {
        authenticated: (x) => {
          for (const t of traces) t.authenticated(x);
        },
        attempt: (x, target) => {
          const attempts = traces.map((t) => t.attempt(x, target));
          return {
            end: (r) => {
              for (const t of attempts) t.end(r);
            },
          };
        },
        committed: (x) => {
          for (const t of traces) t.committed(x);
        },
        finish: (x, status, code) => {
          for (const t of traces) t.finish(x, status, code);
        },
      };
    },
  };
}
