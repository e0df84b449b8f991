import type { WireFormat } from "../../../lib/src/provider-catalog.js";
import { anthropicAdapter } from "./anthropic/index.js";
import { bedrockAdapter } from "./bedrock/index.js";
import { cohereAdapter } from "./cohere/index.js";
import { elevenlabsAdapter } from "./elevenlabs/index.js";
import { geminiAdapter } from "./gemini/index.js";
import { openaiAdapter } from "./openai/index.js";
import type { ProviderAdapter } from "./types.js";

/** One adapter per wire format; vendors map to a format in lib/src/provider-catalog.ts. */
export const ADAPTERS: Readonly<Record<WireFormat, ProviderAdapter>> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  bedrock: bedrockAdapter,
  cohere: cohereAdapter,
  elevenlabs: elevenlabsAdapter,
};
