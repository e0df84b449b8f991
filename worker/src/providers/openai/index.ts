import { audioContentType } from "../shared/audio.js";
import type { ProviderAdapter } from "../types.js";
import { error } from "./errors.js";
import { chatRequest, embeddingsRequest, speechRequest } from "./request.js";
import { chatResponse, embeddingsResponse } from "./response.js";
import { chatStream } from "./stream.js";

/** The OpenAI wire format: OpenAI itself, Azure OpenAI and every OpenAI-compatible vendor row. */
export const openaiAdapter: ProviderAdapter = {
  chat: { request: chatRequest, response: chatResponse, stream: (_ctx, options) => chatStream(options) },
  embeddings: { request: embeddingsRequest, response: embeddingsResponse },
  speech: { request: speechRequest, contentType: audioContentType },
  error,
};
