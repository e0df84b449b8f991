import type { ProviderAdapter } from "../types.js";
import { embeddingsRequest, embeddingsResponse } from "./embeddings.js";
import { error } from "./errors.js";
import { chatRequest } from "./request.js";
import { chatResponse } from "./response.js";
import { chatStream } from "./stream.js";

/**
 * The AWS Bedrock wire format: chat through Converse / ConverseStream (binary
 * event-stream), embeddings through InvokeModel (Titan and Cohere bodies).
 * Authentication (SigV4 or a Bedrock API key) is auth/sigv4.ts's.
 */
export const bedrockAdapter: ProviderAdapter = {
  chat: { request: chatRequest, response: chatResponse, stream: chatStream },
  embeddings: { request: embeddingsRequest, response: embeddingsResponse },
  error,
};
