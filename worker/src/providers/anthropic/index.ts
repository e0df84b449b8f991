import type { ProviderAdapter } from "../types.js";
import { error } from "./errors.js";
import { chatRequest } from "./request.js";
import { chatResponse } from "./response.js";
import { chatStream } from "./stream.js";

/**
 * The Anthropic Messages wire format: Anthropic itself and Claude on Vertex
 * AI (same body without `model`, with `anthropic_version`, from its row).
 * Chat only: Anthropic has no embeddings.
 */
export const anthropicAdapter: ProviderAdapter = {
  chat: { request: chatRequest, response: chatResponse, stream: chatStream },
  error,
};
