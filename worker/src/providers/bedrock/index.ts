import { notBuilt } from "../shared/not-built.js";
import type { ProviderAdapter } from "../types.js";

/** Placeholder while the bedrock wire format is being written (issue 5): every call fails as a bad request. */
export const bedrockAdapter: ProviderAdapter = { error: notBuilt("bedrock") };
