/**
 * Always-on request counters for weighted-balancing and retry tests: chat and
 * embeddings requests that passed the key check, by bearer token and by model.
 */

/** Request counts since start or the last reset. */
export interface MockStats {
  total: number;
  /** By bearer token; `""` for requests without one. */
  byKey: Record<string, number>;
  /** By the body's `model`; `""` when it is missing, not a string, or the body was not read (413). */
  byModel: Record<string, number>;
}

/** Counters behind `MockProvider.stats()`: one Map increment per key and model. */
export class RequestStats {
  private total = 0;
  private readonly byKey = new Map<string, number>();
  private readonly byModel = new Map<string, number>();

  count(apiKey: string, model: string): void {
    this.total++;
    this.byKey.set(apiKey, (this.byKey.get(apiKey) ?? 0) + 1);
    this.byModel.set(model, (this.byModel.get(model) ?? 0) + 1);
  }

  snapshot(): MockStats {
    return {
      total: this.total,
      byKey: Object.fromEntries(this.byKey),
      byModel: Object.fromEntries(this.byModel),
    };
  }

  reset(): void {
    this.total = 0;
    this.byKey.clear();
    this.byModel.clear();
  }
}
