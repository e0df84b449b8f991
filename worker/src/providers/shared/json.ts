import type { Usage } from "../types.js";

/** A JSON object. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** A provider body parsed as a JSON object; undefined when it is not one. */
export function parseObject(body: Buffer | string): Json | undefined {
  try {
    const value: unknown = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Usage in OpenAI's shape (what translators put in replies and usage chunks). */
export function openaiUsage(u: Usage): Json {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}
