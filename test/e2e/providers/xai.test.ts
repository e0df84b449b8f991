import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "xai",
  settings: (origin) => ({ baseUrl: `${origin}/v1` }),
  chatModel: "grok-3-mini",
});
