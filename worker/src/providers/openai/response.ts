import type { Usage } from "../types.js";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** A token count as reported, or 0 when it is not a non-negative integer. */
const count = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0);

/** Reads OpenAI's usage object; undefined when absent or not an object. Bad counts read as 0. */
export function usageFrom(value: unknown): Usage | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const u = value as OpenAIUsage;
  return {
    promptTokens: count(u.prompt_tokens),
    completionTokens: count(u.completion_tokens),
    cachedTokens: count(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: count(u.completion_tokens_details?.reasoning_tokens),
  };
}

/**
 * The body is already in OpenAI's shape: pass the bytes through, read only
 * the usage. Undefined when the body is not a JSON object (a malformed reply
 * the engine may retry elsewhere).
 */
export function chatResponse(body: Buffer): { body: Buffer; usage: Usage | undefined } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  return { body, usage: usageFrom((parsed as { usage?: unknown }).usage) };
}

/** OpenAI-shaped embeddings pass through; the usage is read. */
export function embeddingsResponse(bodies: Buffer[]): { body: Buffer; usage: Usage | undefined } | undefined {
  const [body] = bodies;
  if (!body || bodies.length !== 1) return undefined;
  const out = chatResponse(body);
  if (!out) return undefined;
  return out;
}
