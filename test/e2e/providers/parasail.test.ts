import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "parasail",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "parasail-llama-33-70b-fp8",
  embeddingsModel: "parasail-bge-m3",
});
