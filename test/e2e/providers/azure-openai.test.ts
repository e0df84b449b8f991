import { describeProviderE2E } from "../../helpers/provider-e2e.js";

/** An unsigned JWT whose `oid` is the mock key: the mock's stand-in for a Microsoft Entra token. */
const entraToken = (key: string) =>
  [
    { alg: "none", typ: "JWT" },
    { oid: key, aud: "https://cognitiveservices.azure.com" },
  ]
    .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
    .concat("signature")
    .join(".");

describeProviderE2E({
  provider: "azure-openai",
  settings: (origin) => ({ baseUrl: `${origin}/azure`, apiVersion: "2024-10-21" }),
  chatModel: "gpt-4o",
  embeddingsModel: "text-embedding-3-small",
  speech: { model: "tts", voice: "alloy" },
});

describeProviderE2E({
  provider: "azure-openai-v1",
  settings: (origin) => ({ baseUrl: `${origin}/azure/openai/v1` }),
  secret: entraToken,
  chatModel: "gpt-4o",
});
