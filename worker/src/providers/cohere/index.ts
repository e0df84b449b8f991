import { notBuilt } from "../shared/not-built.js";
import type { ProviderAdapter } from "../types.js";

/** Placeholder while the cohere wire format is being written (issue 5): every call fails as a bad request. */
export const cohereAdapter: ProviderAdapter = { error: notBuilt("cohere") };
