import type { ProviderAdapter } from "../types.js";
import { error } from "./errors.js";
import { chatRequest } from "./request.js";
import { chatResponse } from "./response.js";
import { chatStream } from "./stream.js";

/** The OpenAI wire format: OpenAI itself and every OpenAI-compatible vendor row. */
export const openaiAdapter: ProviderAdapter = { chatRequest, chatResponse, chatStream, error };
