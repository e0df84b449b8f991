import type { ProviderAdapter } from "../types.js";
import { embeddingsRequest, embeddingsResponse } from "./embeddings.js";
import { error } from "./errors.js";
import { chatRequest } from "./request.js";
import { chatResponse } from "./response.js";
import { chatStream } from "./stream.js";

/**
 * The Gemini wire format: Google AI Studio (`generativelanguage.googleapis.com`,
 * `x-goog-api-key`) and Gemini on Vertex AI (the same bodies under the row's
 * publisher path templates, `:predict` embeddings for the "vertex" dialect,
 * service-account OAuth from auth/google-oauth.ts).
 */
export const geminiAdapter: ProviderAdapter = {
  chat: { request: chatRequest, response: chatResponse, stream: chatStream },
  embeddings: { request: embeddingsRequest, response: embeddingsResponse },
  error,
};
