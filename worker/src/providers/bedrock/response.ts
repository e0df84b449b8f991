import { createHash } from "node:crypto";
import { isObject, openaiUsage } from "../shared/json.js";
import type { CallContext, TranslatedBody, Usage } from "../types.js";

/**
 * Converse replies → OpenAI `chat.completion`. Bedrock's reply has no id:
 * the gateway mints `chatcmpl-<hash of the reply bytes>`, stable for the same
 * bytes (fixtures stay byte-stable) and distinct in practice (real replies
 * carry latency metrics; stream frames carry random padding).
 */

/** An OpenAI completion id for a reply: a digest of its bytes. */
export function completionId(bytes: Uint8Array): string {
  return `chatcmpl-${createHash("sha256").update(bytes).digest("hex").slice(0, 29)}`;
}

/** Bedrock stopReason → OpenAI finish_reason. */
const FINISH: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

/** The OpenAI finish_reason of a Bedrock stopReason (unknown and malformed_* ones → "stop"). */
export function finishReason(stopReason: unknown): string {
  return (typeof stopReason === "string" ? FINISH[stopReason] : undefined) ?? "stop";
}

const count = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0);

/**
 * Bedrock TokenUsage → Usage. `inputTokens` excludes cache reads and writes
 * (Anthropic's convention), so OpenAI's prompt_tokens adds them and
 * cached_tokens is the cache reads. Legacy `*Count` names are read too.
 */
export function usageFrom(value: unknown): Usage | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const u = value as Record<string, unknown>;
  const cacheRead = count(u.cacheReadInputTokens ?? u.cacheReadInputTokenCount);
  const cacheWrite = count(u.cacheWriteInputTokens ?? u.cacheWriteInputTokenCount);
  return {
    promptTokens: count(u.inputTokens) + cacheRead + cacheWrite,
    completionTokens: count(u.outputTokens),
    cachedTokens: cacheRead,
    reasoningTokens: 0,
  };
}

/** An OpenAI tool call of a toolUse block; undefined for a block that is not one. */
function toolCall(block: Record<string, unknown>): Record<string, unknown> | undefined {
  const use = block.toolUse;
  if (!isObject(use) || typeof use.toolUseId !== "string" || typeof use.name !== "string") return undefined;
  return {
    id: use.toolUseId,
    type: "function",
    function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
  };
}

/**
 * A Converse reply → OpenAI `chat.completion`: text blocks joined into the
 * content, toolUse blocks as tool calls (input object → arguments string),
 * reasoning and other blocks left out. Undefined when the body is not a
 * Converse reply (no `output.message.content` array).
 */
export function chatResponse(body: Buffer, ctx: CallContext): TranslatedBody | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || !isObject(parsed.output)) return undefined;
  const message = parsed.output.message;
  if (!isObject(message) || !Array.isArray(message.content)) return undefined;
  let text = "";
  let hasText = false;
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of message.content) {
    if (!isObject(block)) continue;
    if (typeof block.text === "string") {
      text += block.text;
      hasText = true;
    } else {
      const call = toolCall(block);
      if (call) toolCalls.push(call);
    }
  }
  const usage = usageFrom(parsed.usage);
  const out: Record<string, unknown> = {
    id: completionId(body),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: ctx.target.upstreamModel,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: hasText || toolCalls.length === 0 ? text : null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(parsed.stopReason),
        logprobs: null,
      },
    ],
  };
  if (usage) out.usage = openaiUsage(usage);
  return { body: JSON.stringify(out), usage };
}
