import { isObject, type Json, openaiUsage } from "../shared/json.js";
import type { CallContext, TranslatedBody, Usage } from "../types.js";

/** A JSON object as read from the wire. */
/** Whether `v` is a JSON object (not null, not an array). */

/** Anthropic's token counts; `input_tokens` excludes the cache reads and writes. */
export interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
}

/** A token count as reported, or 0 when it is not a non-negative integer. */
const count = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0);

/**
 * Anthropic usage in OpenAI's sense: prompt tokens are the input plus the
 * cache reads and writes, cached tokens the cache reads. Undefined when the
 * value is not an object.
 */
export function usageOf(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const u = value as AnthropicUsage;
  const cacheRead = count(u.cache_read_input_tokens);
  return {
    promptTokens: count(u.input_tokens) + cacheRead + count(u.cache_creation_input_tokens),
    completionTokens: count(u.output_tokens),
    cachedTokens: cacheRead,
    reasoningTokens: 0,
  };
}

const FINISH: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** OpenAI `finish_reason` of an Anthropic `stop_reason`; null while there is none, "stop" for unknown ones. */
export function finishReason(stop: unknown): string | null {
  if (typeof stop !== "string") return null;
  return FINISH[stop] ?? "stop";
}

/** `chatcmpl-` + the Anthropic message id, the OpenAI-looking id the client sees. */
export function completionId(messageId: unknown): string {
  return `chatcmpl-${typeof messageId === "string" && messageId !== "" ? messageId : "anthropic"}`;
}

/** An OpenAI tool call of an Anthropic `tool_use` block; undefined for other blocks. */
function toolCall(block: Json): Json | undefined {
  if (block.type !== "tool_use") return undefined;
  const input = block.input === undefined ? {} : block.input;
  return {
    id: typeof block.id === "string" ? block.id : "",
    type: "function",
    function: { name: typeof block.name === "string" ? block.name : "", arguments: JSON.stringify(input) },
  };
}

/**
 * An Anthropic message → OpenAI `chat.completion`: text blocks joined into
 * the content (null when the reply is only tool calls), tool_use blocks as
 * tool calls with their input as a JSON string, the stop reason as the
 * finish reason. Thinking blocks have no OpenAI slot and are dropped.
 * Undefined when the body is not a message (a malformed reply).
 */
export function chatResponse(body: Buffer, ctx: CallContext): TranslatedBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || !Array.isArray(parsed.content)) return undefined;
  let text = "";
  let hasText = false;
  const toolCalls: Json[] = [];
  for (const block of parsed.content) {
    if (!isObject(block)) continue;
    if (block.type === "text" && typeof block.text === "string") {
      text += block.text;
      hasText = true;
      continue;
    }
    const call = toolCall(block);
    if (call) toolCalls.push(call);
  }
  const message: Json = { role: "assistant", content: hasText || toolCalls.length === 0 ? text : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = usageOf(parsed.usage);
  const out: Json = {
    id: completionId(parsed.id),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof parsed.model === "string" ? parsed.model : ctx.target.upstreamModel,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReason(parsed.stop_reason) ?? (toolCalls.length > 0 ? "tool_calls" : "stop"),
      },
    ],
  };
  if (usage) out.usage = openaiUsage(usage);
  return { body: JSON.stringify(out), usage };
}
