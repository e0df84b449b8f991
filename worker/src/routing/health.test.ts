import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { credential } from "../../../test/helpers/worker-fixtures.js";
import { type CircuitTransition, createCredentialHealth, type HealthOptions } from "./health.js";

const OPTIONS: HealthOptions = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  minRequests: 10,
  windowMs: 10_000,
  openMs: 1000,
  maxOpenMs: 8000,
  authOpenMs: 60_000,
  quotaCooldownMs: 30_000,
  rateLimitCooldownMs: 500,
  maxCooldownMs: 120_000,
};

function setup(options: Partial<HealthOptions> = {}) {
  const transitions: string[] = [];
  const health = createCredentialHealth({ ...OPTIONS, ...options }, (t: CircuitTransition) =>
    transitions.push(`${t.from}->${t.to}:${ErrorClass[t.errorClass]}`),
  );
  return { health, transitions, c: credential() };
}

describe("circuit breaker", () => {
  it("opens after consecutive failures, half-opens after the open period, closes on a probe's success", () => {
    const { health, transitions, c } = setup();
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    health.failure(c, ErrorClass.TIMEOUT, undefined, 1);
    expect(health.barredBy(c, 2)).toBeUndefined();
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 2);
    expect(health.barredBy(c, 3)).toBe(ErrorClass.UNAVAILABLE);
    expect(health.waitMs(c, 3)).toBe(999);
    expect(health.barredBy(c, 1001)).toBe(ErrorClass.UNAVAILABLE);
    expect(health.barredBy(c, 1002)).toBeUndefined(); // half open: one probe may go
    health.begin(c);
    expect(health.barredBy(c, 1003)).toBe(ErrorClass.UNAVAILABLE); // the probe is in flight
    health.success(c, 1100);
    expect(health.barredBy(c, 1101)).toBeUndefined();
    expect(transitions).toEqual([
      "closed->open:UNAVAILABLE",
      "open->half_open:UNAVAILABLE",
      "half_open->closed:UNAVAILABLE",
    ]);
  });

  it("a success resets the consecutive count", () => {
    const { health, c } = setup();
    for (let i = 0; i < 10; i++) {
      health.failure(c, ErrorClass.UNAVAILABLE, undefined, i * 10);
      health.failure(c, ErrorClass.UNAVAILABLE, undefined, i * 10 + 1);
      health.success(c, i * 10 + 2);
    }
    // 20 failures of 30 calls (67 %) trips the rate rule though never 3 in a row.
    expect(health.barredBy(c, 200)).toBe(ErrorClass.UNAVAILABLE);
  });

  it("does not trip the rate rule below minRequests or below the rate", () => {
    const { health, c } = setup({ consecutiveFailures: 100 });
    for (let i = 0; i < 4; i++) health.failure(c, ErrorClass.UNAVAILABLE, undefined, i);
    expect(health.barredBy(c, 5)).toBeUndefined(); // 4 calls < minRequests
    for (let i = 0; i < 10; i++) health.success(c, 10 + i);
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 30);
    expect(health.barredBy(c, 31)).toBeUndefined(); // 5 of 15
  });

  it("forgets failures older than the window", () => {
    const { health, c } = setup({ consecutiveFailures: 100 });
    for (let i = 0; i < 9; i++) health.failure(c, ErrorClass.UNAVAILABLE, undefined, i);
    // 11 s later the old buckets no longer count: 1 failure + 9 successes.
    for (let i = 0; i < 9; i++) health.success(c, 11_000 + i);
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 11_100);
    expect(health.barredBy(c, 11_101)).toBeUndefined();
  });

  it("doubles the open period when the probe fails, up to the maximum", () => {
    const { health, c } = setup({ consecutiveFailures: 1 });
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    const periods = [health.waitMs(c, 0)];
    let t = 0;
    for (let i = 0; i < 4; i++) {
      t += health.waitMs(c, t);
      expect(health.barredBy(c, t)).toBeUndefined();
      health.begin(c);
      health.failure(c, ErrorClass.UNAVAILABLE, undefined, t);
      periods.push(health.waitMs(c, t));
    }
    expect(periods).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it("a late success does not close an open circuit", () => {
    const { health, c } = setup({ consecutiveFailures: 1 });
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    health.success(c, 1);
    expect(health.barredBy(c, 2)).toBe(ErrorClass.UNAVAILABLE);
  });

  it("opens at once for an auth failure, for the auth period", () => {
    const { health, transitions, c } = setup();
    health.failure(c, ErrorClass.AUTH, undefined, 0);
    expect(health.barredBy(c, 1)).toBe(ErrorClass.AUTH);
    expect(health.waitMs(c, 0)).toBe(60_000);
    expect(transitions).toEqual(["closed->open:AUTH"]);
  });

  it("treats bad requests, context length and content filter as the provider working", () => {
    const { health, c } = setup({ consecutiveFailures: 2 });
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    health.failure(c, ErrorClass.BAD_REQUEST, undefined, 1);
    health.failure(c, ErrorClass.CONTEXT_LENGTH_EXCEEDED, undefined, 2);
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 3);
    expect(health.barredBy(c, 4)).toBeUndefined();
  });

  it("frees the probe slot when a probe ends without a verdict", () => {
    const { health, c } = setup({ consecutiveFailures: 1 });
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    expect(health.barredBy(c, 1000)).toBeUndefined();
    health.begin(c);
    health.release(c);
    expect(health.barredBy(c, 1001)).toBeUndefined();
  });

  it("healthy: callable now with no probe slot to take", () => {
    const { health, c } = setup({ consecutiveFailures: 2 });
    expect(health.healthy(c, 0)).toBe(true); // never failed
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    expect(health.healthy(c, 1)).toBe(true); // one failure: still closed
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 1);
    expect(health.healthy(c, 2)).toBe(false); // open
    expect(health.healthy(c, 1001)).toBe(false); // due to half-open: the probe goes through barredBy
    expect([...health.states()]).toEqual([{ credential: c, state: "open" }]); // and healthy changed nothing
    expect(health.barredBy(c, 1001)).toBeUndefined();
    health.begin(c);
    expect(health.healthy(c, 1002)).toBe(false); // half open, probing
    health.success(c, 1003);
    expect(health.healthy(c, 1004)).toBe(true); // closed again
    health.failure(c, ErrorClass.RATE_LIMITED, 500, 1005);
    expect(health.healthy(c, 1504)).toBe(false); // cooling down
    expect(health.healthy(c, 1505)).toBe(true);
  });

  it("reads a success's clock only for a tracked credential", () => {
    const { health, c } = setup({ consecutiveFailures: 1 });
    let reads = 0;
    const clock = () => {
      reads++;
      return 1000;
    };
    health.success(c, clock);
    expect(reads).toBe(0); // never failed: nothing to record
    health.failure(c, ErrorClass.UNAVAILABLE, undefined, 0);
    expect(health.barredBy(c, 1000)).toBeUndefined();
    health.begin(c);
    health.success(c, clock);
    expect(reads).toBe(1);
    expect([...health.states()]).toContainEqual({ credential: c, state: "closed" });
  });
});

describe("cooldowns", () => {
  it("honours Retry-After for a rate limit, else the default cooldown", () => {
    const { health, c } = setup();
    health.failure(c, ErrorClass.RATE_LIMITED, 2000, 0);
    expect(health.barredBy(c, 1999)).toBe(ErrorClass.RATE_LIMITED);
    expect(health.barredBy(c, 2000)).toBeUndefined();
    health.failure(c, ErrorClass.RATE_LIMITED, undefined, 3000);
    expect(health.waitMs(c, 3000)).toBe(500);
  });

  it("caps a provider's Retry-After", () => {
    const { health, c } = setup();
    health.failure(c, ErrorClass.RATE_LIMITED, 10 * 3600_000, 0);
    expect(health.waitMs(c, 0)).toBe(120_000);
  });

  it("cools an exhausted quota down for the quota period", () => {
    const { health, c } = setup();
    health.failure(c, ErrorClass.QUOTA_EXHAUSTED, undefined, 0);
    expect(health.barredBy(c, 29_999)).toBe(ErrorClass.QUOTA_EXHAUSTED);
    expect(health.barredBy(c, 30_000)).toBeUndefined();
  });

  it("does not count rate limits toward the circuit", () => {
    const { health, transitions, c } = setup({ consecutiveFailures: 1, rateLimitCooldownMs: 0 });
    for (let i = 0; i < 20; i++) health.failure(c, ErrorClass.RATE_LIMITED, undefined, i);
    expect(transitions).toEqual([]);
  });
});

describe("credential changes", () => {
  it("starts a changed credential (a new record) healthy", () => {
    const { health } = setup({ consecutiveFailures: 1 });
    const before = credential("same");
    health.failure(before, ErrorClass.AUTH, undefined, 0);
    expect(health.barredBy(before, 1)).toBe(ErrorClass.AUTH);
    const after = credential("same");
    expect(health.barredBy(after, 1)).toBeUndefined();
  });

  it("keeps one entry per credential id, tied to the last record that failed", () => {
    const { health } = setup({ consecutiveFailures: 1 });
    const before = credential("same");
    const after = credential("same");
    health.failure(after, ErrorClass.AUTH, undefined, 0);
    // A request still holding the old record fails: its entry replaces the new record's.
    health.failure(before, ErrorClass.UNAVAILABLE, undefined, 1);
    expect(health.barredBy(after, 2)).toBeUndefined();
    expect(health.healthy(after, 2)).toBe(true);
    expect(health.waitMs(after, 2)).toBe(0);
    expect(health.barredBy(before, 2)).toBe(ErrorClass.UNAVAILABLE);
    expect([...health.states()]).toEqual([{ credential: before, state: "open" }]);
    health.failure(after, ErrorClass.AUTH, undefined, 3);
    expect(health.barredBy(before, 4)).toBeUndefined();
    expect([...health.states()]).toEqual([{ credential: after, state: "open" }]);
    health.prune(() => false);
    expect(health.barredBy(after, 4)).toBeUndefined();
    expect([...health.states()]).toEqual([]);
  });

  it("prunes entries of credentials that are gone", () => {
    const { health } = setup();
    const a = credential("a");
    const b = credential("b");
    health.failure(a, ErrorClass.UNAVAILABLE, undefined, 0);
    health.failure(b, ErrorClass.UNAVAILABLE, undefined, 0);
    health.prune((c) => c.id === "a");
    expect([...health.states()].map((s) => s.credential.id)).toEqual(["a"]);
  });
});
