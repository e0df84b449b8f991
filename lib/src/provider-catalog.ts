/**
 * The providers the gateway can route to, as data. The control plane validates
 * credentials against this catalog; the worker picks the adapter for a
 * credential by its wire format, its auth scheme by its auth style, and fills
 * in the base URL and paths from templates. Adding a vendor that speaks an
 * existing wire format is one row here, never a branch in core code.
 */
export type WireFormat = "openai" | "anthropic" | "gemini" | "bedrock" | "cohere" | "elevenlabs";

/** The OpenAI-compatible endpoints a provider can serve. */
export type Endpoint = "chat" | "embeddings" | "speech";

/**
 * How the secret travels upstream (worker/src/providers/auth/):
 * - bearer: `Authorization: Bearer <secret>`
 * - azure: `api-key: <secret>`, or `Authorization: Bearer` when the secret is an Entra token (a JWT)
 * - x-api-key / goog-api-key / xi-api-key: that header
 * - aws-sigv4: SigV4 (service bedrock) when the secret is JSON access keys, else a Bedrock API key as Bearer
 * - google-service-account: the secret is a service-account JSON; OAuth2 JWT-bearer exchange, token cached
 * - none: nothing (local servers)
 */
export type AuthStyle =
  | "bearer"
  | "azure"
  | "x-api-key"
  | "goog-api-key"
  | "xi-api-key"
  | "aws-sigv4"
  | "google-service-account"
  | "none";

/** A ProviderSettings field a credential of this provider takes. */
export interface ProviderSettingInfo {
  readonly name: "base_url" | "organization" | "api_version" | "region" | "project" | "deployments";
  readonly required: boolean;
  readonly description: string;
}

export interface ProviderInfo {
  readonly id: string;
  readonly displayName: string;
  readonly wireFormat: WireFormat;
  /**
   * Default upstream base URL; empty means the credential must set one. May
   * hold `{region}`, `{project}` and `{region-}` (the region and a dash, empty
   * for the "global" region) filled from the credential's settings.
   */
  readonly defaultBaseUrl: string;
  readonly authStyle: AuthStyle;
  /** Whether a credential may omit the secret (local servers such as Ollama). */
  readonly secretOptional: boolean;
  /** The settings a credential may carry; the control plane rejects the others. */
  readonly settings: readonly ProviderSettingInfo[];
  /** What the provider serves through the gateway. */
  readonly endpoints: readonly Endpoint[];
  /** Headers sent with every request (API versions). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Path templates under the base URL, replacing the wire format's defaults:
   * `{model}` (URL-encoded upstream model), `{deployment}` (settings.deployments
   * of the model, else the model), `{api_version}`, `{project}`, `{region}`.
   * Keys: an endpoint, or "chatStream" when streaming uses another path.
   */
  readonly paths?: Readonly<Partial<Record<Endpoint | "chatStream", string>>>;
  /** Request fields the provider rejects with a 400: dropped before sending. */
  readonly dropParams?: readonly string[];
  /** Request fields the provider names differently (`seed` → `random_seed`). */
  readonly renameParams?: Readonly<Record<string, string>>;
  /** Values the provider names differently, per field (`tool_choice: "required"` → `"any"`). */
  readonly mapValues?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Tool-call ids the provider accepts: "alnum9" (exactly 9 letters and digits) is rewritten deterministically. */
  readonly toolCallIds?: "alnum9";
  /** Fields added to the body when absent (a dialect's version field). */
  readonly bodyDefaults?: Readonly<Record<string, unknown>>;
  /** False when the model travels in the path, not the body. */
  readonly modelInBody?: boolean;
  /** A variant of the wire format its adapter knows, e.g. "vertex" (Gemini on Vertex AI: `:predict` embeddings). */
  readonly dialect?: string;
}

const baseUrlSetting = (defaultBaseUrl: string): ProviderSettingInfo => ({
  name: "base_url",
  required: defaultBaseUrl === "",
  description: defaultBaseUrl
    ? `API base URL; default ${defaultBaseUrl}`
    : "API base URL, e.g. http://host:8000/v1",
});

type RowExtras = Partial<Omit<ProviderInfo, "id" | "displayName" | "defaultBaseUrl">>;

/** An OpenAI-compatible vendor: the OpenAI wire format with its own base URL and quirks. */
const compatible = (id: string, displayName: string, defaultBaseUrl: string, extra: RowExtras = {}) =>
  row(id, displayName, defaultBaseUrl, { wireFormat: "openai", ...extra });

function row(id: string, displayName: string, defaultBaseUrl: string, extra: RowExtras): ProviderInfo {
  return {
    id,
    displayName,
    defaultBaseUrl,
    wireFormat: extra.wireFormat ?? "openai",
    authStyle: extra.authStyle ?? "bearer",
    secretOptional: extra.secretOptional ?? false,
    settings: extra.settings ?? [baseUrlSetting(defaultBaseUrl)],
    endpoints: extra.endpoints ?? ["chat", "embeddings"],
    ...(extra.headers ? { headers: extra.headers } : {}),
    ...(extra.paths ? { paths: extra.paths } : {}),
    ...(extra.dropParams ? { dropParams: extra.dropParams } : {}),
    ...(extra.renameParams ? { renameParams: extra.renameParams } : {}),
    ...(extra.mapValues ? { mapValues: extra.mapValues } : {}),
    ...(extra.toolCallIds ? { toolCallIds: extra.toolCallIds } : {}),
    ...(extra.bodyDefaults ? { bodyDefaults: extra.bodyDefaults } : {}),
    ...(extra.modelInBody === false ? { modelInBody: false } : {}),
    ...(extra.dialect ? { dialect: extra.dialect } : {}),
  };
}

const REGION: ProviderSettingInfo = {
  name: "region",
  required: true,
  description: "cloud region, e.g. us-east-1",
};
const VERTEX_SETTINGS: readonly ProviderSettingInfo[] = [
  baseUrlSetting("https://{region-}aiplatform.googleapis.com"),
  { name: "project", required: true, description: "Google Cloud project id" },
  { name: "region", required: true, description: 'Vertex AI location, e.g. us-central1, or "global"' },
];
const AZURE_SETTINGS: readonly ProviderSettingInfo[] = [
  {
    name: "base_url",
    required: true,
    description: "resource endpoint, e.g. https://my-resource.openai.azure.com",
  },
  { name: "api_version", required: true, description: "API version, e.g. 2024-10-21" },
  {
    name: "deployments",
    required: false,
    description: "upstream model -> deployment name (default: the upstream model)",
  },
];
const VERTEX_ANTHROPIC = "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}";
const VERTEX_GOOGLE = "/v1/projects/{project}/locations/{region}/publishers/google/models/{model}";
const AZURE_DEPLOYMENT = "/openai/deployments/{deployment}";

export const PROVIDERS: readonly ProviderInfo[] = [
  compatible("openai", "OpenAI", "https://api.openai.com/v1", {
    endpoints: ["chat", "embeddings", "speech"],
    settings: [
      baseUrlSetting("https://api.openai.com/v1"),
      {
        name: "organization",
        required: false,
        description: "OpenAI organization id sent as OpenAI-Organization",
      },
    ],
  }),
  compatible("openai-compatible", "OpenAI-compatible endpoint", "", { secretOptional: true }),
  row("anthropic", "Anthropic", "https://api.anthropic.com/v1", {
    wireFormat: "anthropic",
    authStyle: "x-api-key",
    endpoints: ["chat"],
    headers: { "anthropic-version": "2023-06-01" },
  }),
  row("gemini", "Google Gemini", "https://generativelanguage.googleapis.com/v1beta", {
    wireFormat: "gemini",
    authStyle: "goog-api-key",
  }),
  row("vertex-ai", "Google Vertex AI (Gemini)", "https://{region-}aiplatform.googleapis.com", {
    wireFormat: "gemini",
    authStyle: "google-service-account",
    dialect: "vertex",
    settings: VERTEX_SETTINGS,
    paths: {
      chat: `${VERTEX_GOOGLE}:generateContent`,
      chatStream: `${VERTEX_GOOGLE}:streamGenerateContent?alt=sse`,
      embeddings: `${VERTEX_GOOGLE}:predict`,
    },
  }),
  row("vertex-anthropic", "Anthropic on Google Vertex AI", "https://{region-}aiplatform.googleapis.com", {
    wireFormat: "anthropic",
    authStyle: "google-service-account",
    endpoints: ["chat"],
    settings: VERTEX_SETTINGS,
    paths: { chat: `${VERTEX_ANTHROPIC}:rawPredict`, chatStream: `${VERTEX_ANTHROPIC}:streamRawPredict` },
    bodyDefaults: { anthropic_version: "vertex-2023-10-16" },
    modelInBody: false,
  }),
  row("bedrock", "AWS Bedrock", "https://bedrock-runtime.{region}.amazonaws.com", {
    wireFormat: "bedrock",
    authStyle: "aws-sigv4",
    settings: [baseUrlSetting("https://bedrock-runtime.{region}.amazonaws.com"), REGION],
  }),
  compatible("azure-openai", "Azure OpenAI", "", {
    authStyle: "azure",
    settings: AZURE_SETTINGS,
    paths: {
      chat: `${AZURE_DEPLOYMENT}/chat/completions?api-version={api_version}`,
      embeddings: `${AZURE_DEPLOYMENT}/embeddings?api-version={api_version}`,
      speech: `${AZURE_DEPLOYMENT}/audio/speech?api-version={api_version}`,
    },
    endpoints: ["chat", "embeddings", "speech"],
  }),
  compatible("azure-openai-v1", "Azure OpenAI (v1 API)", "", {
    authStyle: "azure",
    settings: [
      {
        name: "base_url",
        required: true,
        description: "the v1 route, e.g. https://my-resource.openai.azure.com/openai/v1",
      },
    ],
  }),
  row("cohere", "Cohere", "https://api.cohere.com/v2", { wireFormat: "cohere" }),
  compatible("mistral", "Mistral", "https://api.mistral.ai/v1", {
    renameParams: { seed: "random_seed" },
    mapValues: { tool_choice: { required: "any" } },
    toolCallIds: "alnum9",
  }),
  compatible("groq", "Groq", "https://api.groq.com/openai/v1", {
    endpoints: ["chat"],
    dropParams: ["logprobs", "logit_bias", "top_logprobs"],
  }),
  compatible("openrouter", "OpenRouter", "https://openrouter.ai/api/v1"),
  compatible("perplexity", "Perplexity", "https://api.perplexity.ai", { endpoints: ["chat"] }),
  compatible("cerebras", "Cerebras", "https://api.cerebras.ai/v1", {
    endpoints: ["chat"],
    dropParams: [
      "frequency_penalty",
      "presence_penalty",
      "logit_bias",
      "parallel_tool_calls",
      "service_tier",
    ],
  }),
  compatible("nebius", "Nebius", "https://api.tokenfactory.nebius.com/v1"),
  compatible("xai", "xAI", "https://api.x.ai/v1", { endpoints: ["chat"] }),
  compatible("parasail", "Parasail", "https://api.parasail.io/v1"),
  compatible("deepseek", "DeepSeek", "https://api.deepseek.com/v1", { endpoints: ["chat"] }),
  compatible("together", "Together", "https://api.together.xyz/v1"),
  compatible("huggingface", "Hugging Face", "https://router.huggingface.co/v1", { endpoints: ["chat"] }),
  compatible("ollama", "Ollama", "http://127.0.0.1:11434/v1", { authStyle: "none", secretOptional: true }),
  row("elevenlabs", "ElevenLabs", "https://api.elevenlabs.io", {
    wireFormat: "elevenlabs",
    authStyle: "xi-api-key",
    endpoints: ["speech"],
  }),
];

const byId = new Map(PROVIDERS.map((p) => [p.id, p]));

/** Looks a provider up by id; undefined when the gateway does not support it. */
export function findProvider(id: string): ProviderInfo | undefined {
  return byId.get(id);
}

/**
 * The base URL of a credential: its own, else the provider's default with
 * `{region}`, `{region-}` and `{project}` filled from the settings.
 */
export function resolveBaseUrl(
  provider: ProviderInfo,
  settings: { baseUrl?: string; region?: string; project?: string } | undefined,
): string {
  if (settings?.baseUrl) return settings.baseUrl;
  const region = settings?.region ?? "";
  return provider.defaultBaseUrl
    .replaceAll("{region-}", region && region !== "global" ? `${region}-` : "")
    .replaceAll("{region}", region)
    .replaceAll("{project}", settings?.project ?? "");
}
