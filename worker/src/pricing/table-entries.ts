import type { OverridePrice } from "../../../lib/src/pricing-catalog.js";
import type {
  ActualCostEntry,
  PriceOverrideEntry,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";

/** Organization price overrides from the routing table, by id and by (org, provider, model). */
export interface PriceOverrideIndex {
  put(e: PriceOverrideEntry): void;
  remove(id: string): void;
  get(orgId: string, provider: string, model: string): OverridePrice | undefined;
  clear(): void;
  readonly size: number;
}

const modelKey = (orgId: string, provider: string, model: string) =>
  `${orgId}\u0000${provider}\u0000${model}`;

export function createPriceOverrideIndex(): PriceOverrideIndex {
  const byId = new Map<string, string>(); // id -> model key
  const byModel = new Map<string, OverridePrice>();
  const index: PriceOverrideIndex = {
    put(e) {
      index.remove(e.id);
      const key = modelKey(e.orgId, e.provider, e.model);
      byId.set(e.id, key);
      byModel.set(key, {
        inputPerMillion: e.inputPerMillion,
        outputPerMillion: e.outputPerMillion,
        cachedInputPerMillion: e.cachedInputPerMillion,
        effectiveFrom: e.effectiveFrom,
      });
    },
    remove(id) {
      const key = byId.get(id);
      if (key === undefined) return;
      byId.delete(id);
      byModel.delete(key);
    },
    get: (orgId, provider, model) => byModel.get(modelKey(orgId, provider, model)),
    clear() {
      byId.clear();
      byModel.clear();
    },
    get size() {
      return byId.size;
    },
  };
  return index;
}

/** Actual provider spend per organization, provider, credential and month, as the metrics read it. */
export interface ActualCost {
  orgId: string;
  provider: string;
  /** "" for spend the billing report does not attribute to a credential. */
  credentialId: string;
  /** "YYYY-MM". */
  period: string;
  amountUsd: number;
}

export interface ActualCostIndex {
  put(e: ActualCostEntry): void;
  remove(id: string): void;
  values(): Iterable<ActualCost>;
  clear(): void;
}

export function createActualCostIndex(): ActualCostIndex {
  const byId = new Map<string, ActualCost>();
  return {
    put: (e) =>
      void byId.set(e.id, {
        orgId: e.orgId,
        provider: e.provider,
        credentialId: e.credentialId,
        period: e.period,
        amountUsd: e.amountUsd,
      }),
    remove: (id) => void byId.delete(id),
    values: () => byId.values(),
    clear: () => byId.clear(),
  };
}
