import { describeProviderE2E } from "../../helpers/provider-e2e.js";

/** Google AI Studio: the mock speaks the Gemini API under /gemini/v1beta, keys in x-goog-api-key. */
describeProviderE2E({
  provider: "gemini",
  settings: (origin) => ({ baseUrl: `${origin}/gemini/v1beta` }),
  chatModel: "gemini-2.5-flash",
  embeddingsModel: "gemini-embedding-001",
});
