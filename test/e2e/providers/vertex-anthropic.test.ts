import { testServiceAccount } from "../../helpers/google-service-account.js";
import { describeProviderE2E } from "../../helpers/provider-e2e.js";

const account = testServiceAccount("vertex-claude-e2e");

/**
 * Claude on Vertex AI: Anthropic Messages bodies (no model, anthropic_version
 * vertex-2023-10-16) on the mock's publisher anthropic routes (:rawPredict,
 * :streamRawPredict), authenticated by a service-account token exchange.
 */
describeProviderE2E({
  provider: "vertex-anthropic",
  settings: (origin) => ({ baseUrl: `${origin}/vertex`, project: "mock-project", region: "us-east5" }),
  secret: (_key, origin) => account.json(`${origin}/vertex/token`),
  chatModel: "claude-sonnet-4-5",
  mock: { serviceAccounts: { [account.clientEmail]: account.publicKeyPem } },
});
