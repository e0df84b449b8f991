import type { ProviderAdapter } from "../types.js";
import { error } from "./errors.js";
import { chatRequest, embeddingsRequest } from "./request.js";
import { chatResponse, embeddingsResponse } from "./response.js";
import { chatStream } from "./stream.js";

/**
 * Cohere's v2 API (`/chat`, `/embed` under a base URL ending in /v2): chat
 * with tool calls and named-event streams, embeddings in batches of 96 texts,
 * `{"message"}` errors. The secret travels as a bearer token (auth/).
 */
export const cohereAdapter: ProviderAdapter = {
  chat: { request: chatRequest, response: chatResponse, stream: chatStream },
  embeddings: { request: embeddingsRequest, response: embeddingsResponse },
  error,
};
