/**
 * Built-in list prices, USD per million tokens, by provider and upstream
 * model, with the date each price took effect. Organizations override any row
 * (negotiated rates, new models) through PricingService; estimated cost uses
 * the override when there is one. Review these against the providers' price
 * pages when updating; they are list prices at the effective date given.
 */
export interface CatalogPrice {
  readonly provider: string;
  readonly model: string;
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  /** Price of cached prompt tokens; equals input when the provider has no discount. */
  readonly cachedInputPerMillion: number;
  /** ISO date the price took effect. */
  readonly effectiveFrom: string;
}

const p = (
  provider: string,
  model: string,
  input: number,
  output: number,
  cached: number,
  effectiveFrom: string,
): CatalogPrice => ({
  provider,
  model,
  inputPerMillion: input,
  outputPerMillion: output,
  cachedInputPerMillion: cached,
  effectiveFrom,
});

export const PRICE_CATALOG: readonly CatalogPrice[] = [
  p("openai", "gpt-4o", 2.5, 10, 1.25, "2024-10-01"),
  p("openai", "gpt-4o-mini", 0.15, 0.6, 0.075, "2024-07-18"),
  p("openai", "gpt-4.1", 2, 8, 0.5, "2025-04-14"),
  p("openai", "gpt-4.1-mini", 0.4, 1.6, 0.1, "2025-04-14"),
  p("openai", "gpt-4.1-nano", 0.1, 0.4, 0.025, "2025-04-14"),
  p("openai", "o3-mini", 1.1, 4.4, 0.55, "2025-01-31"),
  p("openai", "text-embedding-3-small", 0.02, 0, 0.02, "2024-01-25"),
  p("openai", "text-embedding-3-large", 0.13, 0, 0.13, "2024-01-25"),
  p("mistral", "mistral-large-latest", 2, 6, 2, "2024-11-18"),
  p("mistral", "mistral-small-latest", 0.1, 0.3, 0.1, "2025-01-30"),
  p("mistral", "mistral-embed", 0.1, 0, 0.1, "2023-12-11"),
  p("groq", "llama-3.3-70b-versatile", 0.59, 0.79, 0.59, "2024-12-06"),
  p("groq", "llama-3.1-8b-instant", 0.05, 0.08, 0.05, "2024-07-23"),
  p("cerebras", "llama3.1-8b", 0.1, 0.1, 0.1, "2024-08-27"),
  p("deepseek", "deepseek-chat", 0.27, 1.1, 0.07, "2025-02-09"),
  p("deepseek", "deepseek-reasoner", 0.55, 2.19, 0.14, "2025-01-20"),
  p("xai", "grok-2-1212", 2, 10, 2, "2024-12-12"),
  p("perplexity", "sonar", 1, 1, 1, "2025-01-21"),
  p("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88, 0.88, 0.88, "2024-12-06"),
];

/** A price and where it came from. */
export type ResolvedPrice = CatalogPrice & { readonly source: "catalog" | "override" };

/** Estimated cost in USD of one request's token counts at a price. */
export function estimateCost(
  price: Pick<CatalogPrice, "inputPerMillion" | "outputPerMillion" | "cachedInputPerMillion">,
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
): number {
  const uncached = Math.max(promptTokens - cachedTokens, 0);
  return (
    (uncached * price.inputPerMillion +
      cachedTokens * price.cachedInputPerMillion +
      completionTokens * price.outputPerMillion) /
    1_000_000
  );
}
