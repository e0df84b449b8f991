import { anthropicProtocol } from "./anthropic.js";
import { azureProtocol } from "./azure.js";
import { bedrockProtocol } from "./bedrock.js";
import { cohereProtocol } from "./cohere.js";
import { elevenlabsProtocol, openaiSpeechNoPrefixProtocol, openaiSpeechProtocol } from "./elevenlabs.js";
import { geminiProtocol } from "./gemini.js";
import type { NativeProtocol } from "./types.js";
import { vertexProtocol } from "./vertex.js";

/** The native protocols the mock serves, by URL prefix. */
export const PROTOCOLS: readonly NativeProtocol[] = [
  anthropicProtocol,
  azureProtocol,
  bedrockProtocol,
  cohereProtocol,
  elevenlabsProtocol,
  geminiProtocol,
  vertexProtocol,
  openaiSpeechProtocol,
  openaiSpeechNoPrefixProtocol,
];
