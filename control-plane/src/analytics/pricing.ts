import { estimateCost, type OverridePrice, priceAt } from "../../../lib/src/pricing-catalog.js";
import type { Queryable } from "../db/pool.js";

export interface CostInput {
  orgId: string;
  provider: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Epoch ms the request started: picks the price in force. */
  at: number;
}

/**
 * Prices a batch of usage events the way workers do (lib/src/pricing-catalog.ts
 * `priceAt`): the organization's override for the provider and model once in
 * force, else the catalog row in force at the request's time, else 0 (an
 * unknown model is not guessed at). One query per batch.
 */
export async function estimateCosts(db: Queryable, events: readonly CostInput[]): Promise<number[]> {
  const orgIds = [...new Set(events.map((e) => e.orgId))];
  const overrides = new Map<string, OverridePrice>();
  if (orgIds.length > 0) {
    const { rows } = await db.query<{
      org_id: string;
      provider: string;
      model: string;
      input_per_million: number;
      output_per_million: number;
      cached_input_per_million: number;
      effective_from: string;
    }>("SELECT * FROM price_overrides WHERE org_id = ANY($1::uuid[])", [orgIds]);
    for (const r of rows) {
      overrides.set(`${r.org_id}\u0000${r.provider}\u0000${r.model}`, {
        inputPerMillion: r.input_per_million,
        outputPerMillion: r.output_per_million,
        cachedInputPerMillion: r.cached_input_per_million,
        effectiveFrom: r.effective_from,
      });
    }
  }
  return events.map((e) => {
    const override = overrides.get(`${e.orgId}\u0000${e.provider}\u0000${e.model}`);
    const price = priceAt(override, e.provider, e.model, e.at);
    return price ? estimateCost(price, e.promptTokens, e.completionTokens, e.cachedTokens) : 0;
  });
}
