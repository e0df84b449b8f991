import { describe, expect, it } from "vitest";
import {
  catalogAt,
  catalogPriceAt,
  effectiveFromMs,
  estimateCost,
  estimateCostPicos,
  PRICE_CATALOG,
  priceAt,
} from "./pricing-catalog.js";
import { findProvider } from "./provider-catalog.js";

const at = (iso: string) => Date.parse(iso);

describe("price catalog", () => {
  it("names only supported providers, once per model and date, with sane prices and dates", () => {
    const seen = new Set<string>();
    for (const p of PRICE_CATALOG) {
      expect(findProvider(p.provider), p.provider).toBeDefined();
      const key = `${p.provider}/${p.model}/${p.effectiveFrom}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
      expect(p.cachedInputPerMillion, key).toBeLessThanOrEqual(p.inputPerMillion);
      expect(Number.isNaN(effectiveFromMs(p.effectiveFrom)), key).toBe(false);
      for (const v of [p.inputPerMillion, p.outputPerMillion, p.cachedInputPerMillion]) {
        // at most six decimals: exact as integer picodollars per token
        expect(Math.abs(v * 1e6 - Math.round(v * 1e6)), key).toBeLessThan(1e-6);
      }
    }
  });

  it("covers every provider that bills per token", () => {
    const priced = new Set(PRICE_CATALOG.map((p) => p.provider));
    for (const id of [
      "openai",
      "azure-openai",
      "azure-openai-v1",
      "anthropic",
      "vertex-anthropic",
      "gemini",
      "vertex-ai",
      "bedrock",
      "cohere",
      "mistral",
      "groq",
      "cerebras",
      "deepseek",
      "xai",
      "perplexity",
      "together",
      "nebius",
      "parasail",
      "openrouter",
    ]) {
      expect(priced.has(id), id).toBe(true);
    }
    expect(priced.has("elevenlabs")).toBe(false); // speech is billed per character: not priced
  });

  it("uses the latest price whose effective date is not after the request", () => {
    expect(catalogPriceAt("openai", "o3", at("2025-06-09T23:59:59Z"))?.inputPerMillion).toBe(10);
    expect(catalogPriceAt("openai", "o3", at("2025-06-10T00:00:00Z"))?.inputPerMillion).toBe(2);
    expect(catalogPriceAt("openai", "o3", at("2025-04-15T12:00:00Z"))).toBeUndefined();
    expect(catalogPriceAt("deepseek", "deepseek-chat", at("2025-03-01T00:00:00Z"))?.outputPerMillion).toBe(
      1.1,
    );
    expect(catalogPriceAt("deepseek", "deepseek-chat", at("2025-10-01T00:00:00Z"))?.outputPerMillion).toBe(
      0.42,
    );
    expect(catalogPriceAt("azure-openai", "gpt-4o-mini", at("2025-01-01T00:00:00Z"))?.outputPerMillion).toBe(
      0.6,
    );
    expect(catalogPriceAt("nope", "gpt-4o", at("2025-01-01T00:00:00Z"))).toBeUndefined();
    const now = catalogAt(at("2025-07-01T00:00:00Z"));
    expect(now.filter((p) => p.provider === "openai" && p.model === "o3")).toHaveLength(1);
  });

  it("prices Bedrock cross-region inference profiles like the model they wrap", () => {
    const id = "anthropic.claude-3-7-sonnet-20250219-v1:0";
    const t = at("2025-05-01T00:00:00Z");
    expect(catalogPriceAt("bedrock", `us.${id}`, t)).toEqual(catalogPriceAt("bedrock", id, t));
    expect(catalogPriceAt("bedrock", `global.${id}`, t)?.inputPerMillion).toBe(3);
    expect(catalogPriceAt("anthropic", `us.${id}`, t)).toBeUndefined();
  });

  it("lets an override win once in force, and the catalog before", () => {
    const override = {
      inputPerMillion: 1,
      outputPerMillion: 2,
      cachedInputPerMillion: 0.5,
      effectiveFrom: "2025-03-01",
    };
    expect(priceAt(override, "openai", "gpt-4o", at("2025-03-01T00:00:00Z"))).toBe(override);
    expect(priceAt(override, "openai", "gpt-4o", at("2025-02-28T23:59:59Z"))?.inputPerMillion).toBe(2.5);
    expect(priceAt(override, "custom", "in-house", at("2025-01-01T00:00:00Z"))).toBeUndefined();
  });

  it("charges cached prompt tokens at the cached price, exactly", () => {
    const price = { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 };
    expect(estimateCost(price, 1_000_000, 0, 0)).toBe(2);
    // 600k uncached x 2 + 400k cached x 0.5 + 500k x 8 = 1.2 + 0.2 + 4
    expect(estimateCostPicos(price, 1_000_000, 500_000, 400_000)).toBe(5_400_000_000_000n);
    expect(estimateCost(price, 1_000_000, 500_000, 400_000)).toBe(5.4);
    // more cached than prompt tokens (a provider's rounding): all cached tokens at the cached price
    expect(estimateCost(price, 10, 0, 50)).toBe(0.000025);
    // gpt-4o-mini: 1034 x 0.15 + 200 x 0.075 + 567 x 0.6 micro-dollars
    const mini = catalogPriceAt("openai", "gpt-4o-mini", at("2025-01-01T00:00:00Z"));
    expect(mini && estimateCostPicos(mini, 1234, 567, 200)).toBe(510_300_000n);
    expect(mini && estimateCost(mini, 1234, 567, 200)).toBe(0.0005103);
  });

  it("gives in doubles exactly what the picodollar integers give, large amounts included", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const prices = [0.075, 0.15, 0.6, 1.25, 2.5, 10, 15, 75, 0.000123, 123.456789];
    for (let i = 0; i < 20_000; i++) {
      const price = {
        inputPerMillion: prices[rand(prices.length)] as number,
        outputPerMillion: prices[rand(prices.length)] as number,
        cachedInputPerMillion: prices[rand(prices.length)] as number,
      };
      const scale = [10, 10_000, 10_000_000, 100_000_000_000][rand(4)] as number;
      const prompt = rand(scale);
      const cached = rand(prompt + 1);
      const completion = rand(scale);
      expect(estimateCost(price, prompt, completion, cached)).toBe(
        Number(estimateCostPicos(price, prompt, completion, cached)) / 1e12,
      );
    }
  });
});
