/**
 * Deterministic OpenAI-shaped payloads for the mock provider. Everything here
 * is a pure function of its inputs so tests can predict every byte.
 */

/** Model ids listed by `GET /v1/models`. */
export const MOCK_MODELS = ["mock-small", "mock-large"] as const;

/** Fixed creation time of the listed models (2024-01-01T00:00:00Z) so the list is byte-stable. */
const MODELS_CREATED = 1_704_067_200;

export const MODELS_LIST_JSON = JSON.stringify({
  object: "list",
  data: MOCK_MODELS.map((id) => modelObject(id)),
});

export function modelObject(id: string): { id: string; object: "model"; created: number; owned_by: string } {
  return { id, object: "model", created: MODELS_CREATED, owned_by: "mock-provider" };
}

export interface ErrorShape {
  type: string;
  code: string | null;
}

/** OpenAI error `type`/`code` for a status, as close to the real API as is useful for tests. */
export function errorShapeFor(status: number): ErrorShape {
  switch (status) {
    case 401:
      return { type: "invalid_request_error", code: "invalid_api_key" };
    case 403:
      return { type: "permission_error", code: null };
    case 404:
      return { type: "invalid_request_error", code: "not_found" };
    case 429:
      return { type: "rate_limit_error", code: "rate_limit_exceeded" };
    default:
      return status >= 500
        ? { type: "server_error", code: null }
        : { type: "invalid_request_error", code: null };
  }
}

/** Serialised OpenAI error body: `{"error":{"message","type","param","code"}}`. */
export function errorJson(status: number, message: string, param: string | null = null): string {
  const { type, code } = errorShapeFor(status);
  return JSON.stringify({ error: { message, type, param, code } });
}

const pieceCache: string[] = [];
const deltaJsonCache: string[] = [];
const contentCache = new Map<number, string>();

/** The i-th content piece: "tok0", " tok1", " tok2", ... so pieces concatenate to "tok0 tok1 ...". */
export function contentPiece(index: number): string {
  let piece = pieceCache[index];
  if (piece === undefined) {
    piece = index === 0 ? "tok0" : ` tok${index}`;
    pieceCache[index] = piece;
  }
  return piece;
}

/** Pre-serialised `{"content":"<piece>"}` delta for stream chunk `index`. */
export function contentDeltaJson(index: number): string {
  let json = deltaJsonCache[index];
  if (json === undefined) {
    json = JSON.stringify({ content: contentPiece(index) });
    deltaJsonCache[index] = json;
  }
  return json;
}

/** The full reply for `chunkCount` pieces; streamed pieces concatenate to exactly this. */
export function completionContent(chunkCount: number): string {
  let content = contentCache.get(chunkCount);
  if (content === undefined) {
    content = "";
    for (let i = 0; i < chunkCount; i++) content += contentPiece(i);
    if (contentCache.size < 256) contentCache.set(chunkCount, content);
  }
  return content;
}

/** Characters / 4 rounded up, at least 1: a stable stand-in for a tokenizer. */
export function tokensForChars(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

/** Total characters of the text in chat messages (string contents and text parts). */
export function messageChars(messages: readonly unknown[]): number {
  let chars = 0;
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    const content = (message as { content?: unknown }).content;
    if (typeof content === "string") {
      chars += content.length;
    } else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === "string") chars += text.length;
      }
    }
  }
  return chars;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function chatUsage(messages: readonly unknown[], chunkCount: number): Usage {
  const prompt = tokensForChars(messageChars(messages));
  return { prompt_tokens: prompt, completion_tokens: chunkCount, total_tokens: prompt + chunkCount };
}

export function chatCompletionJson(
  id: string,
  created: number,
  model: string,
  chunkCount: number,
  usage: Usage,
): string {
  return JSON.stringify({
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: completionContent(chunkCount) },
        finish_reason: "stop",
      },
    ],
    usage,
  });
}

/** A tool call as the mock makes it (content.ts `MockToolCall`). */
export interface ToolCallShape {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * A tool call's JSON arguments in the pieces a stream sends them in (two
 * halves), so clients must concatenate fragments as with real providers.
 */
export function argumentPieces(json: string): string[] {
  const half = Math.ceil(json.length / 2);
  return [json.slice(0, half), json.slice(half)];
}

/** A non-streamed completion that calls tools: `content: null`, `finish_reason: "tool_calls"`. */
export function toolCallCompletionJson(
  id: string,
  created: number,
  model: string,
  calls: readonly ToolCallShape[],
  usage: Usage,
): string {
  const toolCalls = calls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: JSON.stringify(c.arguments) },
  }));
  return JSON.stringify({
    id,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: null, tool_calls: toolCalls },
        finish_reason: "tool_calls",
      },
    ],
    usage,
  });
}

/** Builds the SSE frames of one streamed completion; the per-request prefix is serialised once. */
export class ChunkFrames {
  private readonly head: string;

  constructor(id: string, created: number, model: string) {
    this.head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":`;
  }

  role(): string {
    return `${this.head}[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`;
  }

  content(index: number): string {
    return `${this.head}[{"index":0,"delta":${contentDeltaJson(index)},"finish_reason":null}]}\n\n`;
  }

  finish(reason: "stop" | "tool_calls" = "stop"): string {
    return `${this.head}[{"index":0,"delta":{},"finish_reason":"${reason}"}]}\n\n`;
  }

  /** The first delta of a tool call: index, id, type, name and empty arguments. */
  toolCallStart(index: number, call: ToolCallShape): string {
    const delta = {
      tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }],
    };
    return `${this.head}[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":null}]}\n\n`;
  }

  /** A later delta of a tool call: its index and an arguments fragment. */
  toolCallArguments(index: number, fragment: string): string {
    const delta = { tool_calls: [{ index, function: { arguments: fragment } }] };
    return `${this.head}[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":null}]}\n\n`;
  }

  usage(usage: Usage): string {
    return `${this.head}[],"usage":${JSON.stringify(usage)}}\n\n`;
  }
}

export const DONE_FRAME = "data: [DONE]\n\n";

export const EMBEDDING_DIMENSIONS = 8;

/** FNV-1a over UTF-16 code units: small, fast, stable across runs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Unit-length vector seeded by the input's hash (mulberry32). Values are
 * float32-exact so the float and base64 encodings decode to the same numbers.
 */
export function embeddingVector(text: string): number[] {
  let seed = fnv1a(text);
  const raw: number[] = [];
  let norm = 0;
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const value = ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296 - 0.5;
    raw.push(value);
    norm += value * value;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return raw.map((value) => Math.fround(value * scale));
}

export function vectorBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}

/**
 * Normalises an embeddings `input` into one string per item (token arrays are
 * keyed by their JSON), or returns undefined when the shape is not accepted.
 */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === "string")) return input as string[];
  if (input.every((item) => typeof item === "number")) return [JSON.stringify(input)];
  if (input.every((item) => Array.isArray(item) && item.every((n) => typeof n === "number"))) {
    return input.map((item) => JSON.stringify(item));
  }
  return undefined;
}

export function embeddingsJson(model: string, inputs: readonly string[], base64: boolean): string {
  let chars = 0;
  const data = inputs.map((text, index) => {
    chars += text.length;
    const vector = embeddingVector(text);
    return { object: "embedding", index, embedding: base64 ? vectorBase64(vector) : vector };
  });
  const tokens = tokensForChars(chars);
  return JSON.stringify({
    object: "list",
    data,
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}
