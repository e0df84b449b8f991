import { describe, expect, it } from "vitest";
import { backoffMs, createRetryBudget } from "./retry-budget.js";

describe("retry budget", () => {
  it("allows `max` retries at once, then ratio per request", () => {
    const b = createRetryBudget({ ratio: 0.25, minPerSecond: 0, max: 2 }, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([true, true, false]);
    for (let i = 0; i < 4; i++) b.deposit();
    expect([b.take(0), b.take(0)]).toEqual([true, false]);
  });

  it("bounds retries to the ratio over many requests", () => {
    const b = createRetryBudget({ ratio: 0.2, minPerSecond: 0, max: 10 }, 0);
    let retries = 0;
    for (let i = 0; i < 10_000; i++) {
      b.deposit();
      if (b.take(0)) retries++;
    }
    expect(retries).toBeLessThanOrEqual(0.2 * 10_000 + 10);
    expect(retries).toBeGreaterThanOrEqual(0.2 * 10_000 - 1);
  });

  it("refills minPerSecond with time, up to max", () => {
    const b = createRetryBudget({ ratio: 0, minPerSecond: 10, max: 5 }, 0);
    for (let i = 0; i < 5; i++) b.take(0);
    expect(b.take(0)).toBe(false);
    expect(b.take(100)).toBe(true); // 0.1 s: one token
    expect(b.take(100)).toBe(false);
    let granted = 0;
    for (let i = 0; i < 10; i++) if (b.take(60_000)) granted++;
    expect(granted).toBe(5);
  });
});

describe("backoff", () => {
  it("is uniform in [0, min(cap, base * 2^retry)]", () => {
    expect(backoffMs(0, 100, 2000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 2000, () => 1)).toBe(800);
    expect(backoffMs(10, 100, 2000, () => 0.5)).toBe(1000);
    expect(backoffMs(2, 100, 2000, () => 0)).toBe(0);
  });
});
