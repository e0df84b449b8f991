export interface RetryBudgetOptions {
  /** Extra attempts allowed per request served (0.2: retries add at most 20 % to upstream traffic). */
  ratio: number;
  /** Extra attempts always allowed per second, so a quiet worker can still retry. */
  minPerSecond: number;
  /** Most extra attempts that can be saved up for a burst. */
  max: number;
}

/**
 * A worker-wide token bucket bounding retries and fallbacks, so an outage
 * cannot multiply upstream traffic: each request deposits `ratio` tokens,
 * time deposits `minPerSecond`, and every attempt after a request's first
 * takes one. (The circuit breakers keep the steady state at one attempt per
 * request; the budget bounds the detection window and flapping providers.)
 */
export interface RetryBudget {
  /** Called once per routed request. */
  deposit(): void;
  /** Takes a token for an extra attempt; false when the budget is spent. */
  take(now: number): boolean;
}

export function createRetryBudget(o: RetryBudgetOptions, now = Date.now()): RetryBudget {
  let tokens = o.max;
  let last = now;
  return {
    deposit() {
      tokens = Math.min(o.max, tokens + o.ratio);
    },
    take(t) {
      if (t > last) {
        tokens = Math.min(o.max, tokens + ((t - last) / 1000) * o.minPerSecond);
        last = t;
      }
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^retry)]. */
export function backoffMs(retry: number, baseMs: number, capMs: number, random = Math.random): number {
  return random() * Math.min(capMs, baseMs * 2 ** retry);
}
