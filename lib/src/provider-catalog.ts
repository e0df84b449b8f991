/**
 * The providers the gateway can route to, as data. The control plane validates
 * credentials against this catalog; the worker picks the adapter for a
 * credential by its wire format and fills in the default base URL. Adding an
 * OpenAI-compatible vendor is one row here, never a branch in core code.
 */
export type WireFormat = "openai";

/** How the provider secret travels upstream. */
export type AuthStyle = "bearer" | "api-key-header" | "none";

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
  /** Default upstream base URL; empty means the credential must set one. */
  readonly defaultBaseUrl: string;
  readonly authStyle: AuthStyle;
  /** Whether a credential may omit the secret (local servers such as Ollama). */
  readonly secretOptional: boolean;
  /** The settings a credential may carry; the control plane rejects the others. */
  readonly settings: readonly ProviderSettingInfo[];
}

const row = (
  id: string,
  displayName: string,
  defaultBaseUrl: string,
  extra: Partial<Pick<ProviderInfo, "authStyle" | "secretOptional" | "settings">> = {},
): ProviderInfo => ({
  id,
  displayName,
  wireFormat: "openai",
  defaultBaseUrl,
  authStyle: extra.authStyle ?? "bearer",
  secretOptional: extra.secretOptional ?? false,
  settings: extra.settings ?? [
    {
      name: "base_url",
      required: defaultBaseUrl === "",
      description: defaultBaseUrl
        ? `API base URL; default ${defaultBaseUrl}`
        : "API base URL, e.g. http://host:8000/v1",
    },
  ],
});

export const PROVIDERS: readonly ProviderInfo[] = [
  row("openai", "OpenAI", "https://api.openai.com/v1", {
    settings: [
      { name: "base_url", required: false, description: "API base URL; default https://api.openai.com/v1" },
      {
        name: "organization",
        required: false,
        description: "OpenAI organization id sent as OpenAI-Organization",
      },
    ],
  }),
  row("openai-compatible", "OpenAI-compatible endpoint", "", { secretOptional: true }),
  row("mistral", "Mistral", "https://api.mistral.ai/v1"),
  row("groq", "Groq", "https://api.groq.com/openai/v1"),
  row("openrouter", "OpenRouter", "https://openrouter.ai/api/v1"),
  row("perplexity", "Perplexity", "https://api.perplexity.ai"),
  row("cerebras", "Cerebras", "https://api.cerebras.ai/v1"),
  row("nebius", "Nebius", "https://api.tokenfactory.nebius.com/v1"),
  row("xai", "xAI", "https://api.x.ai/v1"),
  row("parasail", "Parasail", "https://api.parasail.io/v1"),
  row("deepseek", "DeepSeek", "https://api.deepseek.com/v1"),
  row("together", "Together", "https://api.together.xyz/v1"),
  row("huggingface", "Hugging Face", "https://router.huggingface.co/v1"),
  row("ollama", "Ollama", "http://127.0.0.1:11434/v1", { authStyle: "none", secretOptional: true }),
];

const byId = new Map(PROVIDERS.map((p) => [p.id, p]));

/** Looks a provider up by id; undefined when the gateway does not support it. */
export function findProvider(id: string): ProviderInfo | undefined {
  return byId.get(id);
}
