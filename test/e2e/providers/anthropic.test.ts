import { describeProviderE2E } from "../../helpers/provider-e2e.js";

/** Anthropic through the gateway: the OpenAI SDK in front, the mock speaking the Messages API behind. */
describeProviderE2E({
  provider: "anthropic",
  settings: (origin) => ({ baseUrl: `${origin}/anthropic/v1` }),
  chatModel: "claude-sonnet-4-5",
});
