import { describeProviderE2E } from "../../helpers/provider-e2e.js";

describeProviderE2E({
  provider: "elevenlabs",
  settings: (origin) => ({ baseUrl: `${origin}/elevenlabs` }),
  speech: { model: "eleven_multilingual_v2", voice: "21m00Tcm4TlvDq8ikWAM" },
});
