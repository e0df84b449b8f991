import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "nebius",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "meta-llama/Meta-Llama-3.1-70B-Instruct",
  embeddingsModel: "BAAI/bge-en-icl",
});
