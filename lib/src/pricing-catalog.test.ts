import { describe, expect, it } from "vitest";
import { estimateCost, PRICE_CATALOG } from "./pricing-catalog.js";
import { findProvider } from "./provider-catalog.js";

describe("price catalog", () => {
  it("names only supported providers, once per model, with sane prices and dates", () => {
    const seen = new Set<string>();
    for (const p of PRICE_CATALOG) {
      expect(findProvider(p.provider), p.provider).toBeDefined();
      const key = `${p.provider}/${p.model}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
      expect(p.cachedInputPerMillion).toBeLessThanOrEqual(p.inputPerMillion);
      expect(Date.parse(p.effectiveFrom)).not.toBeNaN();
    }
  });

  it("charges cached prompt tokens at the cached price", () => {
    const price = { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 };
    expect(estimateCost(price, 1_000_000, 0, 0)).toBeCloseTo(2, 10);
    expect(estimateCost(price, 1_000_000, 500_000, 400_000)).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 0.5 * 8, 10);
    expect(estimateCost(price, 10, 0, 50)).toBeCloseTo((50 * 0.5) / 1e6, 12);
  });
});
