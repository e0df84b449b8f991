import type { WireFormat } from "../../../lib/src/provider-catalog.js";
import { openaiAdapter } from "./openai/index.js";
import type { ProviderAdapter } from "./types.js";

/** One adapter per wire format; vendors map to a format in lib/src/provider-catalog.ts. */
export const ADAPTERS: Readonly<Record<WireFormat, ProviderAdapter>> = {
  openai: openaiAdapter,
};
