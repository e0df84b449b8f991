import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "mistral",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "mistral-large-latest",
  embeddingsModel: "mistral-embed",
});
