import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "cerebras",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "llama3.1-8b",
});
