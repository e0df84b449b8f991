import { describeProviderE2E } from "../../helpers/provider-e2e.js";

// Ollama takes no key (auth style none): the mock checks none either.
describeProviderE2E({
  provider: "ollama",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "llama3.2",
  embeddingsModel: "nomic-embed-text",
  mock: { apiKeys: [] },
});
