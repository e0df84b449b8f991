import { testServiceAccount } from "../../helpers/google-service-account.js";
import { describeProviderE2E } from "../../helpers/provider-e2e.js";

const account = testServiceAccount("vertex-e2e");

/**
 * Gemini on Vertex AI: the worker exchanges a service-account assertion at the
 * mock's token endpoint (/vertex/token) and calls the publisher google routes
 * with the access token.
 */
describeProviderE2E({
  provider: "vertex-ai",
  settings: (origin) => ({ baseUrl: `${origin}/vertex`, project: "mock-project", region: "us-central1" }),
  secret: (_key, origin) => account.json(`${origin}/vertex/token`),
  chatModel: "gemini-2.5-flash",
  embeddingsModel: "gemini-embedding-001",
  mock: { serviceAccounts: { [account.clientEmail]: account.publicKeyPem } },
});
