/**
 * Built-in list prices, USD per million tokens, by provider and upstream
 * model, with the date each price took effect. A model may have several
 * rows: the price in force at a request's time is the row with the latest
 * `effectiveFrom` (UTC midnight) not after it. Organizations override any
 * model (negotiated rates, models missing here) through PricingService; an
 * override in force wins over the catalog.
 *
 * THESE ARE LIST PRICES AS BEST KNOWN AT THE LAST REVIEW (2025-11) AND MUST BE
 * REVIEWED against the providers' price pages before they are relied on:
 *   openai, azure-openai*  openai.com/api/pricing (Azure global deployments bill OpenAI's list prices)
 *   anthropic              anthropic.com/pricing, docs.anthropic.com/en/docs/about-claude/pricing
 *   vertex-anthropic       cloud.google.com/vertex-ai/generative-ai/pricing (global endpoint = Anthropic's prices)
 *   gemini / vertex-ai     ai.google.dev/gemini-api/docs/pricing, cloud.google.com/vertex-ai/generative-ai/pricing
 *   bedrock                aws.amazon.com/bedrock/pricing (us-east-1, on demand)
 *   cohere, mistral, groq, cerebras, deepseek, xai, perplexity, together, nebius, parasail, openrouter:
 *                          the providers' pricing pages; OpenRouter bills the upstream provider's price.
 *                          The two Parasail rows are UNVERIFIED estimates (no public list price could be
 *                          confirmed at the review): set overrides for Parasail.
 * Dates are when the price was published as best known (a model's launch, or a price change).
 *
 * Three prices per model: input, output and cached input (prompt tokens read
 * from the provider's cache). Not modelled: Anthropic/Bedrock cache WRITES
 * (usage carries them inside prompt tokens, so they are priced at the input
 * price, below the 1.25x list price), long-context tiers (the <=200k-token
 * price is used), batch/flex/priority tiers, per-request and tool fees
 * (Perplexity search, web search), regional uplifts, and speech: ElevenLabs
 * and OpenAI TTS bill per character and speech requests carry no token usage,
 * so they are not priced (0). Hugging Face, Ollama and openai-compatible
 * endpoints are not priced (router or local prices): set overrides.
 */
export interface CatalogPrice {
  readonly provider: string;
  readonly model: string;
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  /** Price of cached prompt tokens; equals input when the provider has no discount. */
  readonly cachedInputPerMillion: number;
  /** ISO date (UTC) the price took effect. */
  readonly effectiveFrom: string;
}

/** The three prices of a model. */
export type PriceValues = Pick<
  CatalogPrice,
  "inputPerMillion" | "outputPerMillion" | "cachedInputPerMillion"
>;

// provider  models (comma-separated, same price)  input  output  cached ("-" = input)  effective from
const TABLE = `
openai gpt-4o,gpt-4o-2024-05-13 5 15 - 2024-05-13
openai gpt-4o-2024-08-06 2.5 10 - 2024-08-06
openai gpt-4o-2024-08-06 2.5 10 1.25 2024-10-01
openai gpt-4o 2.5 10 1.25 2024-10-02
openai gpt-4o-mini,gpt-4o-mini-2024-07-18 0.15 0.6 0.075 2024-07-18
openai gpt-4.1,gpt-4.1-2025-04-14 2 8 0.5 2025-04-14
openai gpt-4.1-mini,gpt-4.1-mini-2025-04-14 0.4 1.6 0.1 2025-04-14
openai gpt-4.1-nano,gpt-4.1-nano-2025-04-14 0.1 0.4 0.025 2025-04-14
openai gpt-5,gpt-5-2025-08-07,gpt-5-chat-latest 1.25 10 0.125 2025-08-07
openai gpt-5-mini,gpt-5-mini-2025-08-07 0.25 2 0.025 2025-08-07
openai gpt-5-nano,gpt-5-nano-2025-08-07 0.05 0.4 0.005 2025-08-07
openai gpt-5.1 1.25 10 0.125 2025-11-13
openai o1,o1-2024-12-17 15 60 7.5 2024-12-17
openai o3,o3-2025-04-16 10 40 2.5 2025-04-16
openai o3,o3-2025-04-16 2 8 0.5 2025-06-10
openai o3-mini,o3-mini-2025-01-31 1.1 4.4 0.55 2025-01-31
openai o4-mini,o4-mini-2025-04-16 1.1 4.4 0.275 2025-04-16
openai gpt-4-turbo 10 30 - 2024-04-09
openai gpt-3.5-turbo 0.5 1.5 - 2024-01-25
openai text-embedding-3-small 0.02 0 - 2024-01-25
openai text-embedding-3-large 0.13 0 - 2024-01-25
openai text-embedding-ada-002 0.1 0 - 2022-12-15
anthropic claude-3-haiku-20240307 0.25 1.25 0.03 2024-03-13
anthropic claude-3-opus-20240229,claude-3-opus-latest 15 75 1.5 2024-03-04
anthropic claude-3-5-sonnet-20240620 3 15 0.3 2024-06-20
anthropic claude-3-5-sonnet-20241022,claude-3-5-sonnet-latest 3 15 0.3 2024-10-22
anthropic claude-3-5-haiku-20241022,claude-3-5-haiku-latest 0.8 4 0.08 2024-11-04
anthropic claude-3-7-sonnet-20250219,claude-3-7-sonnet-latest 3 15 0.3 2025-02-24
anthropic claude-sonnet-4-20250514,claude-sonnet-4-0 3 15 0.3 2025-05-22
anthropic claude-opus-4-20250514,claude-opus-4-0 15 75 1.5 2025-05-22
anthropic claude-opus-4-1-20250805,claude-opus-4-1 15 75 1.5 2025-08-05
anthropic claude-sonnet-4-5-20250929,claude-sonnet-4-5 3 15 0.3 2025-09-29
anthropic claude-haiku-4-5-20251001,claude-haiku-4-5 1 5 0.1 2025-10-15
anthropic claude-opus-4-5-20251101,claude-opus-4-5 5 25 0.5 2025-11-24
vertex-anthropic claude-3-haiku@20240307 0.25 1.25 0.03 2024-03-13
vertex-anthropic claude-3-5-sonnet@20240620 3 15 0.3 2024-06-20
vertex-anthropic claude-3-5-sonnet-v2@20241022 3 15 0.3 2024-10-22
vertex-anthropic claude-3-5-haiku@20241022 0.8 4 0.08 2024-11-04
vertex-anthropic claude-3-7-sonnet@20250219 3 15 0.3 2025-02-24
vertex-anthropic claude-sonnet-4@20250514 3 15 0.3 2025-05-22
vertex-anthropic claude-opus-4@20250514 15 75 1.5 2025-05-22
vertex-anthropic claude-opus-4-1@20250805 15 75 1.5 2025-08-05
vertex-anthropic claude-sonnet-4-5@20250929 3 15 0.3 2025-09-29
vertex-anthropic claude-haiku-4-5@20251001 1 5 0.1 2025-10-15
gemini gemini-1.5-flash 0.075 0.3 0.01875 2024-08-12
gemini gemini-1.5-pro 1.25 5 0.3125 2024-10-01
gemini gemini-2.0-flash,gemini-2.0-flash-001 0.1 0.4 0.025 2025-02-05
gemini gemini-2.0-flash-lite,gemini-2.0-flash-lite-001 0.075 0.3 - 2025-02-25
gemini gemini-2.5-pro 1.25 10 0.125 2025-06-17
gemini gemini-2.5-flash 0.3 2.5 0.03 2025-06-17
gemini gemini-2.5-flash-lite 0.1 0.4 0.01 2025-07-22
gemini gemini-3-pro-preview 2 12 0.2 2025-11-18
gemini gemini-embedding-001 0.15 0 - 2025-07-14
vertex-ai gemini-2.0-flash,gemini-2.0-flash-001 0.15 0.6 0.0375 2025-02-05
vertex-ai gemini-2.0-flash-lite,gemini-2.0-flash-lite-001 0.075 0.3 - 2025-02-25
vertex-ai gemini-2.5-pro 1.25 10 0.125 2025-06-17
vertex-ai gemini-2.5-flash 0.3 2.5 0.03 2025-06-17
vertex-ai gemini-2.5-flash-lite 0.1 0.4 0.01 2025-07-22
vertex-ai gemini-embedding-001 0.15 0 - 2025-07-14
bedrock anthropic.claude-3-haiku-20240307-v1:0 0.25 1.25 - 2024-03-13
bedrock anthropic.claude-3-5-sonnet-20240620-v1:0 3 15 0.3 2024-06-20
bedrock anthropic.claude-3-5-sonnet-20241022-v2:0 3 15 0.3 2024-10-22
bedrock anthropic.claude-3-5-haiku-20241022-v1:0 0.8 4 0.08 2024-11-04
bedrock anthropic.claude-3-7-sonnet-20250219-v1:0 3 15 0.3 2025-02-24
bedrock anthropic.claude-sonnet-4-20250514-v1:0 3 15 0.3 2025-05-22
bedrock anthropic.claude-opus-4-20250514-v1:0 15 75 1.5 2025-05-22
bedrock anthropic.claude-opus-4-1-20250805-v1:0 15 75 1.5 2025-08-05
bedrock anthropic.claude-sonnet-4-5-20250929-v1:0 3 15 0.3 2025-09-29
bedrock anthropic.claude-haiku-4-5-20251001-v1:0 1 5 0.1 2025-10-15
bedrock amazon.nova-pro-v1:0 0.8 3.2 0.2 2024-12-03
bedrock amazon.nova-lite-v1:0 0.06 0.24 0.015 2024-12-03
bedrock amazon.nova-micro-v1:0 0.035 0.14 0.00875 2024-12-03
bedrock meta.llama3-1-8b-instruct-v1:0 0.22 0.22 - 2024-07-23
bedrock meta.llama3-1-70b-instruct-v1:0,meta.llama3-3-70b-instruct-v1:0 0.72 0.72 - 2024-12-19
bedrock mistral.mistral-large-2407-v1:0 2 6 - 2024-07-24
bedrock cohere.command-r-plus-v1:0 3 15 - 2024-04-30
bedrock cohere.command-r-v1:0 0.5 1.5 - 2024-04-30
bedrock deepseek.r1-v1:0 1.35 5.4 - 2025-03-10
bedrock amazon.titan-embed-text-v2:0 0.02 0 - 2024-04-30
bedrock cohere.embed-english-v3,cohere.embed-multilingual-v3 0.1 0 - 2023-11-13
cohere command-r-plus-08-2024 2.5 10 - 2024-08-30
cohere command-r-08-2024 0.15 0.6 - 2024-08-30
cohere command-r7b-12-2024 0.0375 0.15 - 2024-12-13
cohere command-a-03-2025 2.5 10 - 2025-03-13
cohere embed-english-v3.0,embed-multilingual-v3.0 0.1 0 - 2023-11-02
cohere embed-v4.0 0.12 0 - 2025-04-15
mistral mistral-large-latest 3 9 - 2024-07-24
mistral mistral-large-latest 2 6 - 2024-09-17
mistral mistral-large-2411,pixtral-large-latest 2 6 - 2024-11-18
mistral mistral-medium-latest,mistral-medium-2505 0.4 2 - 2025-05-07
mistral mistral-small-latest 0.2 0.6 - 2024-09-17
mistral mistral-small-latest 0.1 0.3 - 2025-01-30
mistral codestral-latest 0.2 0.6 - 2024-09-17
mistral codestral-latest 0.3 0.9 - 2025-01-13
mistral ministral-8b-latest 0.1 0.1 - 2024-10-16
mistral ministral-3b-latest 0.04 0.04 - 2024-10-16
mistral open-mistral-nemo 0.15 0.15 - 2024-07-18
mistral mistral-embed 0.1 0 - 2023-12-11
groq gemma2-9b-it 0.2 0.2 - 2024-06-27
groq llama-3.1-8b-instant 0.05 0.08 - 2024-07-23
groq llama-3.3-70b-versatile 0.59 0.79 - 2024-12-06
groq meta-llama/llama-4-scout-17b-16e-instruct 0.11 0.34 - 2025-04-05
groq meta-llama/llama-4-maverick-17b-128e-instruct 0.2 0.6 - 2025-04-05
groq qwen/qwen3-32b 0.29 0.59 - 2025-05-15
groq moonshotai/kimi-k2-instruct 1 3 - 2025-07-14
groq openai/gpt-oss-120b 0.15 0.75 - 2025-08-05
groq openai/gpt-oss-20b 0.1 0.5 - 2025-08-05
cerebras llama3.1-8b 0.1 0.1 - 2024-08-27
cerebras llama-3.3-70b 0.85 1.2 - 2024-12-10
cerebras llama-4-scout-17b-16e-instruct 0.65 0.85 - 2025-04-05
cerebras qwen-3-32b 0.4 0.8 - 2025-05-15
cerebras gpt-oss-120b 0.25 0.69 - 2025-08-05
deepseek deepseek-chat 0.14 0.28 0.014 2024-12-26
deepseek deepseek-chat 0.27 1.1 0.07 2025-02-09
deepseek deepseek-reasoner 0.55 2.19 0.14 2025-01-20
deepseek deepseek-chat,deepseek-reasoner 0.28 0.42 0.028 2025-09-29
xai grok-beta 5 15 - 2024-11-04
xai grok-2-1212,grok-2-vision-1212 2 10 - 2024-12-12
xai grok-3,grok-3-latest 3 15 0.75 2025-04-09
xai grok-3-mini,grok-3-mini-latest 0.3 0.5 0.075 2025-04-09
xai grok-4,grok-4-0709,grok-4-latest 3 15 0.75 2025-07-09
xai grok-code-fast-1 0.2 1.5 0.02 2025-08-28
xai grok-4-fast-reasoning,grok-4-fast-non-reasoning 0.2 0.5 0.05 2025-09-19
perplexity sonar 1 1 - 2025-01-21
perplexity sonar-pro 3 15 - 2025-01-21
perplexity sonar-reasoning 1 5 - 2025-01-29
perplexity sonar-deep-research 2 8 - 2025-02-14
perplexity sonar-reasoning-pro 2 8 - 2025-03-07
together mistralai/Mixtral-8x7B-Instruct-v0.1 0.6 0.6 - 2023-12-11
together meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo 0.18 0.18 - 2024-07-23
together meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo 0.88 0.88 - 2024-07-23
together meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo 3.5 3.5 - 2024-07-23
together Qwen/Qwen2.5-72B-Instruct-Turbo 1.2 1.2 - 2024-09-19
together meta-llama/Llama-3.3-70B-Instruct-Turbo 0.88 0.88 - 2024-12-06
together deepseek-ai/DeepSeek-V3 1.25 1.25 - 2024-12-26
together deepseek-ai/DeepSeek-R1 3 7 - 2025-01-20
together meta-llama/Llama-4-Scout-17B-16E-Instruct 0.18 0.59 - 2025-04-05
together meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8 0.27 0.85 - 2025-04-05
together openai/gpt-oss-120b 0.15 0.6 - 2025-08-05
nebius meta-llama/Meta-Llama-3.1-8B-Instruct 0.02 0.06 - 2024-10-01
nebius Qwen/Qwen2.5-72B-Instruct 0.13 0.4 - 2024-10-01
nebius BAAI/bge-en-icl 0.01 0 - 2024-10-01
nebius meta-llama/Llama-3.3-70B-Instruct 0.13 0.4 - 2024-12-06
nebius deepseek-ai/DeepSeek-V3 0.5 1.5 - 2024-12-26
nebius deepseek-ai/DeepSeek-R1 0.8 2.4 - 2025-01-20
nebius openai/gpt-oss-120b 0.15 0.6 - 2025-08-05
parasail parasail-llama-33-70b-fp8 0.28 0.78 - 2025-02-01
parasail parasail-deepseek-r1 0.79 4 - 2025-02-01
openrouter openai/gpt-4o 2.5 10 1.25 2024-10-02
openrouter openai/gpt-4o-mini 0.15 0.6 0.075 2024-07-18
openrouter openai/gpt-4.1 2 8 0.5 2025-04-14
openrouter openai/gpt-5 1.25 10 0.125 2025-08-07
openrouter anthropic/claude-3.5-sonnet 3 15 0.3 2024-10-22
openrouter anthropic/claude-3.7-sonnet 3 15 0.3 2025-02-24
openrouter anthropic/claude-sonnet-4 3 15 0.3 2025-05-22
openrouter anthropic/claude-opus-4.1 15 75 1.5 2025-08-05
openrouter anthropic/claude-sonnet-4.5 3 15 0.3 2025-09-29
openrouter google/gemini-2.5-pro 1.25 10 0.125 2025-06-17
openrouter google/gemini-2.5-flash 0.3 2.5 0.03 2025-06-17
openrouter x-ai/grok-4 3 15 0.75 2025-07-09
openrouter mistralai/mistral-large-2411 2 6 - 2024-11-18
`;

/** Parses TABLE; throws on a malformed line, so a typo fails the first test run. */
function parseTable(text: string): CatalogPrice[] {
  const out: CatalogPrice[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [provider = "", models = "", input, output, cached, effectiveFrom = ""] = line.trim().split(/\s+/);
    const nums = [input, output, cached === "-" ? input : cached].map(Number);
    if (nums.some((n) => !Number.isFinite(n)) || !/^\d{4}-\d{2}-\d{2}$/.test(effectiveFrom)) {
      throw new Error(`pricing catalog: bad line "${line}"`);
    }
    const [inputPerMillion = 0, outputPerMillion = 0, cachedInputPerMillion = 0] = nums;
    for (const model of models.split(",")) {
      out.push({ provider, model, inputPerMillion, outputPerMillion, cachedInputPerMillion, effectiveFrom });
    }
  }
  return out;
}

const OWN = parseTable(TABLE);
/** Azure OpenAI (both API styles) is priced like OpenAI, keyed by the upstream model. */
const AZURE = OWN.filter((p) => p.provider === "openai").flatMap((p) =>
  ["azure-openai", "azure-openai-v1"].map((provider) => ({ ...p, provider })),
);

export const PRICE_CATALOG: readonly CatalogPrice[] = [...OWN, ...AZURE];

const key = (provider: string, model: string) => `${provider}\u0000${model}`;
/** provider+model -> rows, latest effectiveFrom first. */
const INDEX = new Map<string, CatalogPrice[]>();
for (const p of PRICE_CATALOG) {
  const rows = INDEX.get(key(p.provider, p.model)) ?? [];
  rows.push(p);
  rows.sort((a, b) => b.effectiveFrom.localeCompare(a.effectiveFrom));
  INDEX.set(key(p.provider, p.model), rows);
}

/** Epoch ms of an effective date: its UTC midnight. */
export function effectiveFromMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

/**
 * Bedrock cross-region inference profiles ("us.", "eu.", "apac.", "global." …)
 * are priced like the model they wrap (the uplift some regions charge is not modelled).
 */
const BEDROCK_PROFILE = /^(?:us|eu|apac|global|jp|au|ca|us-gov)\.(?=[a-z]+\.)/;

/** The catalog row in force for a provider's model at `at` (epoch ms), if any. */
export function catalogPriceAt(provider: string, model: string, at: number): CatalogPrice | undefined {
  const rows =
    INDEX.get(key(provider, model)) ??
    (provider === "bedrock" ? INDEX.get(key(provider, model.replace(BEDROCK_PROFILE, ""))) : undefined);
  return rows?.find((r) => effectiveFromMs(r.effectiveFrom) <= at);
}

/** The catalog as in force at `at`: one row per provider and model (models not yet priced left out). */
export function catalogAt(at: number): CatalogPrice[] {
  return [...INDEX.values()].flatMap(
    (rows) => rows.find((r) => effectiveFromMs(r.effectiveFrom) <= at) ?? [],
  );
}

/** An organization's override: its prices apply from `effectiveFrom` (UTC midnight) on. */
export type OverridePrice = PriceValues & { readonly effectiveFrom: string };

/** The price of a request at `at`: the override once in force, else the catalog, else undefined (unpriced). */
export function priceAt(
  override: OverridePrice | undefined,
  provider: string,
  model: string,
  at: number,
): PriceValues | undefined {
  if (override && effectiveFromMs(override.effectiveFrom) <= at) return override;
  return catalogPriceAt(provider, model, at);
}

/**
 * USD per million tokens is micro-dollars per token; as integer picodollars
 * (1e-12 USD) per token, exact for prices with up to six decimals (others are
 * rounded to the picodollar).
 */
export function picosPerToken(perMillion: number): bigint {
  return BigInt(Math.round(perMillion * 1e6));
}

const tokens = (n: number) => BigInt(Math.max(0, Math.round(n)));

/**
 * Exact cost in picodollars: uncached prompt tokens at the input price,
 * cached ones at the cached price, completion tokens at the output price.
 */
export function estimateCostPicos(
  price: PriceValues,
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
): bigint {
  return (
    tokens(promptTokens - cachedTokens) * picosPerToken(price.inputPerMillion) +
    tokens(cachedTokens) * picosPerToken(price.cachedInputPerMillion) +
    tokens(completionTokens) * picosPerToken(price.outputPerMillion)
  );
}

/**
 * Estimated cost in USD: the exact picodollar amount divided once by 1e12, so
 * it is the double nearest the exact decimal (below $9007, where the integer fits a double exactly).
 */
export function estimateCost(
  price: PriceValues,
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
): number {
  // The same integers in doubles: every term is a non-negative integer, so while the sum is at most
  // 2^53 - 1 every product and partial sum is exact too (a rounded one would push the sum past it).
  const picos =
    Math.max(0, Math.round(promptTokens - cachedTokens)) * Math.round(price.inputPerMillion * 1e6) +
    Math.max(0, Math.round(cachedTokens)) * Math.round(price.cachedInputPerMillion * 1e6) +
    Math.max(0, Math.round(completionTokens)) * Math.round(price.outputPerMillion * 1e6);
  if (picos <= Number.MAX_SAFE_INTEGER) return picos / 1e12;
  return Number(estimateCostPicos(price, promptTokens, completionTokens, cachedTokens)) / 1e12;
}
