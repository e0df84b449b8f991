import type { ProviderAdapter } from "../types.js";
import { error } from "./errors.js";
import { contentType, speechRequest } from "./request.js";

/**
 * ElevenLabs text to speech behind OpenAI's `/v1/audio/speech` (no chat, no
 * embeddings): the streaming TTS route, audio relayed as it arrives, FastAPI
 * `{"detail"}` errors. The secret travels as `xi-api-key` (auth/).
 */
export const elevenlabsAdapter: ProviderAdapter = {
  speech: { request: speechRequest, contentType },
  error,
};
