import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "openrouter",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "openai/gpt-4o-mini",
  embeddingsModel: "openai/text-embedding-3-small",
});
