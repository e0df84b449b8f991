import { testServiceAccount } from "../../helpers/google-service-account.js";
import { describeProvidersE2E, type ProviderE2E } from "../../helpers/provider-e2e.js";

/**
 * Issue 5, acceptance 1: every provider the product documents name, through
 * the official openai SDK against a real worker, routed to a credential of
 * that provider whose base URL is the mock speaking the provider's native
 * protocol (one gateway and one mock for all of them; Bedrock and Ollama
 * have their own files). Per provider: a non-streaming chat, a streamed tool
 * call then the answer to its result, embeddings where the provider serves
 * them, speech for ElevenLabs.
 */
const account = testServiceAccount("vertex-e2e");
const openaiCompatible = (origin: string) => ({ baseUrl: `${origin}/v1` });

/** An unsigned JWT whose `oid` is the mock key: the mock's stand-in for a Microsoft Entra token. */
const entraToken = (key: string) =>
  [
    { alg: "none", typ: "JWT" },
    { oid: key, aud: "https://cognitiveservices.azure.com" },
  ]
    .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
    .concat("signature")
    .join(".");

const SPECS: ProviderE2E[] = [
  {
    provider: "openai",
    settings: openaiCompatible,
    chatModel: "gpt-4o-mini",
    embeddingsModel: "text-embedding-3-small",
    speech: { model: "gpt-4o-mini-tts", voice: "alloy" },
  },
  {
    provider: "anthropic",
    settings: (o) => ({ baseUrl: `${o}/anthropic/v1` }),
    chatModel: "claude-sonnet-4-5",
  },
  {
    provider: "gemini",
    settings: (o) => ({ baseUrl: `${o}/gemini/v1beta` }),
    chatModel: "gemini-2.5-flash",
    embeddingsModel: "gemini-embedding-001",
  },
  {
    // Gemini on Vertex AI: a service-account assertion exchanged at the mock's token endpoint.
    provider: "vertex-ai",
    settings: (o) => ({ baseUrl: `${o}/vertex`, project: "mock-project", region: "us-central1" }),
    secret: (_key, o) => account.json(`${o}/vertex/token`),
    chatModel: "gemini-2.5-flash",
    embeddingsModel: "gemini-embedding-001",
  },
  {
    provider: "vertex-anthropic",
    settings: (o) => ({ baseUrl: `${o}/vertex`, project: "mock-project", region: "us-east5" }),
    secret: (_key, o) => account.json(`${o}/vertex/token`),
    chatModel: "claude-sonnet-4-5",
  },
  {
    provider: "azure-openai",
    settings: (o) => ({ baseUrl: `${o}/azure`, apiVersion: "2024-10-21" }),
    chatModel: "gpt-4o",
    embeddingsModel: "text-embedding-3-small",
    speech: { model: "tts", voice: "alloy" },
  },
  {
    provider: "azure-openai-v1",
    settings: (o) => ({ baseUrl: `${o}/azure/openai/v1` }),
    secret: entraToken,
    chatModel: "gpt-4o",
  },
  {
    provider: "cohere",
    settings: (o) => ({ baseUrl: `${o}/cohere/v2` }),
    chatModel: "command-r-plus",
    embeddingsModel: "embed-english-v3.0",
  },
  {
    provider: "elevenlabs",
    settings: (o) => ({ baseUrl: `${o}/elevenlabs` }),
    speech: { model: "eleven_multilingual_v2", voice: "21m00Tcm4TlvDq8ikWAM" },
  },
  {
    provider: "mistral",
    settings: openaiCompatible,
    chatModel: "mistral-large-latest",
    embeddingsModel: "mistral-embed",
  },
  { provider: "groq", settings: openaiCompatible, chatModel: "llama-3.3-70b-versatile" },
  {
    provider: "openrouter",
    settings: openaiCompatible,
    chatModel: "openai/gpt-4o-mini",
    embeddingsModel: "openai/text-embedding-3-small",
  },
  { provider: "perplexity", settings: openaiCompatible, chatModel: "sonar" },
  { provider: "cerebras", settings: openaiCompatible, chatModel: "llama3.1-8b" },
  { provider: "huggingface", settings: openaiCompatible, chatModel: "meta-llama/Llama-3.1-8B-Instruct" },
  {
    provider: "nebius",
    settings: openaiCompatible,
    chatModel: "meta-llama/Meta-Llama-3.1-70B-Instruct",
    embeddingsModel: "BAAI/bge-en-icl",
  },
  { provider: "xai", settings: openaiCompatible, chatModel: "grok-3-mini" },
  {
    provider: "parasail",
    settings: openaiCompatible,
    chatModel: "parasail-llama-33-70b-fp8",
    embeddingsModel: "parasail-bge-m3",
  },
];

describeProvidersE2E(SPECS, { serviceAccounts: { [account.clientEmail]: account.publicKeyPem } });
