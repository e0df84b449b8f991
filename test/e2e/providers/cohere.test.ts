import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "cohere",
  settings: (origin) => ({ baseUrl: `${origin}/cohere/v2` }),
  chatModel: "command-r-plus",
  embeddingsModel: "embed-english-v3.0",
});
