import { GatewayError } from "../../http/errors.js";
import type { TranslatedBody, Usage } from "../types.js";

/**
 * The client's `input` as texts, for providers that embed text only; token
 * arrays are refused with a 400 naming the provider.
 */
export function inputTexts(input: unknown, provider: string): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((x) => typeof x === "string")) return input as string[];
  throw new GatewayError(
    "invalid_request",
    `${provider} embeds text only: send 'input' as strings, not token arrays`,
    "input",
  );
}

/** Float32 little-endian bytes in base64: OpenAI's `encoding_format: "base64"`. */
export function vectorBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}

/**
 * Vectors (one per input, in order) as OpenAI's embeddings list, floats or
 * base64 as the client asked; undefined when their number does not match the
 * inputs. `promptTokens` undefined: the provider did not report a count.
 */
export function embeddingsList(
  vectors: readonly number[][],
  model: string,
  promptTokens: number | undefined,
  request: Record<string, unknown>,
  inputs: number,
): TranslatedBody | undefined {
  if (vectors.length !== inputs) return undefined;
  const base64 = request.encoding_format === "base64";
  const data = vectors.map((v, index) => ({
    object: "embedding",
    index,
    embedding: base64 ? vectorBase64(v) : v,
  }));
  const tokens = promptTokens ?? 0;
  const usage: Usage | undefined =
    promptTokens === undefined
      ? undefined
      : { promptTokens: tokens, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 };
  return {
    body: JSON.stringify({
      object: "list",
      data,
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }),
    usage,
  };
}
