import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "openai",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "gpt-4o-mini",
  embeddingsModel: "text-embedding-3-small",
  speech: { model: "gpt-4o-mini-tts", voice: "alloy" },
});
