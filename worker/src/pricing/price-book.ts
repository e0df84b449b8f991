import { estimateCost, PRICE_CATALOG } from "../../../lib/src/pricing-catalog.js";
import type { Usage } from "../providers/types.js";

/**
 * Prices one request on the worker: the organization's override for the
 * provider and upstream model when there is one, else the built-in catalog,
 * else 0 (an unknown model is not guessed at). The usage event carries the
 * estimate; the control plane prices events that arrive without one.
 */
export interface PriceBook {
  estimate(orgId: string, provider: string, model: string, usage: Usage | undefined, at: number): number;
}

/** The built-in catalog only (no overrides). */
export function createCatalogPriceBook(): PriceBook {
  const prices = new Map(PRICE_CATALOG.map((p) => [`${p.provider}\u0000${p.model}`, p]));
  return {
    estimate(_orgId, provider, model, usage) {
      if (!usage) return 0;
      const price = prices.get(`${provider}\u0000${model}`);
      return price ? estimateCost(price, usage.promptTokens, usage.completionTokens, usage.cachedTokens) : 0;
    },
  };
}
