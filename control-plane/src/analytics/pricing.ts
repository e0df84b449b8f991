import { type CatalogPrice, estimateCost, PRICE_CATALOG } from "../../../lib/src/pricing-catalog.js";
import type { Queryable } from "../db/pool.js";

type Price = Pick<CatalogPrice, "inputPerMillion" | "outputPerMillion" | "cachedInputPerMillion">;

const catalog = new Map(PRICE_CATALOG.map((p) => [`${p.provider}\u0000${p.model}`, p]));

export interface CostInput {
  orgId: string;
  provider: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/**
 * Prices a batch of usage events: the organization's override for the
 * provider and model when there is one, else the built-in catalog, else 0
 * (an unknown model is not guessed at). One query per batch.
 */
export async function estimateCosts(db: Queryable, events: readonly CostInput[]): Promise<number[]> {
  const orgIds = [...new Set(events.map((e) => e.orgId))];
  const overrides = new Map<string, Price>();
  if (orgIds.length > 0) {
    const { rows } = await db.query<{
      org_id: string;
      provider: string;
      model: string;
      input_per_million: number;
      output_per_million: number;
      cached_input_per_million: number;
    }>("SELECT * FROM price_overrides WHERE org_id = ANY($1::uuid[])", [orgIds]);
    for (const r of rows) {
      overrides.set(`${r.org_id}\u0000${r.provider}\u0000${r.model}`, {
        inputPerMillion: r.input_per_million,
        outputPerMillion: r.output_per_million,
        cachedInputPerMillion: r.cached_input_per_million,
      });
    }
  }
  return events.map((e) => {
    const price =
      overrides.get(`${e.orgId}\u0000${e.provider}\u0000${e.model}`) ??
      catalog.get(`${e.provider}\u0000${e.model}`);
    return price ? estimateCost(price, e.promptTokens, e.completionTokens, e.cachedTokens) : 0;
  });
}
