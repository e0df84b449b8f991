import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "perplexity",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "sonar",
});
