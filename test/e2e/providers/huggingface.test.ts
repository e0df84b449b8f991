import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "huggingface",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "meta-llama/Llama-3.1-8B-Instruct",
});
