import { notBuilt } from "../shared/not-built.js";
import type { ProviderAdapter } from "../types.js";

/** Placeholder while the gemini wire format is being written (issue 5): every call fails as a bad request. */
export const geminiAdapter: ProviderAdapter = { error: notBuilt("gemini") };
