import type { Usage } from "../types.js";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** Reads OpenAI's usage object; undefined when absent or malformed. */
export function usageFrom(value: unknown): Usage | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const u = value as OpenAIUsage;
  return {
    promptTokens: u.prompt_tokens ?? 0,
    completionTokens: u.completion_tokens ?? 0,
    cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** The body is already in OpenAI's shape: pass the bytes through, read only the usage. */
export function chatResponse(body: Buffer): { body: Buffer; usage: Usage | undefined } {
  let usage: Usage | undefined;
  try {
    usage = usageFrom((JSON.parse(body.toString("utf8")) as { usage?: unknown }).usage);
  } catch {
    usage = undefined;
  }
  return { body, usage };
}
