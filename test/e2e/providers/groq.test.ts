import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "groq",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "llama-3.3-70b-versatile",
});
