import { estimateCost, type OverridePrice, priceAt } from "../../../lib/src/pricing-catalog.js";
import type { Usage } from "../providers/types.js";

/**
 * Prices one request on the worker: the organization's override for the
 * provider and upstream model once in force, else the built-in catalog row
 * in force at the request's start, else 0 (an unknown model is not guessed
 * at). The usage event carries the estimate; the control plane prices
 * events that arrive without one (0) the same way.
 */
export interface PriceBook {
  estimate(orgId: string, provider: string, model: string, usage: Usage | undefined, at: number): number;
}

/** Where a price book finds organization overrides: the routing table. */
export interface PriceOverrides {
  priceOverride(orgId: string, provider: string, model: string): OverridePrice | undefined;
}

/** Overrides from the routing table (kept current by its deltas), then the catalog by effective date. */
export function createPriceBook(table: PriceOverrides): PriceBook {
  return {
    estimate(orgId, provider, model, usage, at) {
      if (!usage) return 0;
      const price = priceAt(table.priceOverride(orgId, provider, model), provider, model, at);
      return price ? estimateCost(price, usage.promptTokens, usage.completionTokens, usage.cachedTokens) : 0;
    },
  };
}

/** The built-in catalog only (no overrides). */
export function createCatalogPriceBook(): PriceBook {
  return createPriceBook({ priceOverride: () => undefined });
}
