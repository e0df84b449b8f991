import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { embeddingsList, inputTexts } from "../shared/embeddings.js";
import { isObject, type Json, openaiUsage } from "../shared/json.js";
import type { CallContext, TranslatedBody, Usage } from "../types.js";

/** A token count as reported (Cohere's are JSON numbers, possibly floats), or undefined. */
function tokens(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

/**
 * Cohere's usage: `tokens` (what the model read and wrote) first, `billed_units`
 * only when a count is missing there; `cached_tokens` as cached prompt tokens.
 * Undefined when neither object is present.
 */
export function usageOf(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const t = isObject(value.tokens) ? value.tokens : undefined;
  const billed = isObject(value.billed_units) ? value.billed_units : undefined;
  if (!t && !billed) return undefined;
  return {
    promptTokens: tokens(t?.input_tokens) ?? tokens(billed?.input_tokens) ?? 0,
    completionTokens: tokens(t?.output_tokens) ?? tokens(billed?.output_tokens) ?? 0,
    cachedTokens: tokens(value.cached_tokens) ?? 0,
    reasoningTokens: 0,
  };
}

/** Cohere finish reasons that are failures rather than endings, with the class the engine acts on. */
export const FAILED_FINISH: ReadonlyMap<string, ErrorClass> = new Map([
  ["ERROR", ErrorClass.UNAVAILABLE],
  ["TIMEOUT", ErrorClass.TIMEOUT],
]);

/**
 * Cohere finish reason → OpenAI's. `ERROR_TOXIC` is Cohere v1's content-filter
 * ending (v2 documents none; kept for models that still report it). Unknown or
 * missing reasons read as tool_calls when the reply calls tools, else stop.
 */
export function finishReason(reason: unknown, calledTools: boolean): string {
  switch (reason) {
    case "COMPLETE":
    case "STOP_SEQUENCE":
      return "stop";
    case "MAX_TOKENS":
      return "length";
    case "TOOL_CALL":
      return "tool_calls";
    case "ERROR_TOXIC":
      return "content_filter";
    default:
      return calledTools ? "tool_calls" : "stop";
  }
}

function parse(body: Buffer): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The text items of Cohere's `message.content` joined; thinking items are left out. */
function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const item of content) {
    if (isObject(item) && item.type === "text" && typeof item.text === "string") out += item.text;
  }
  return out;
}

function toolCalls(value: unknown): Json[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((c) => {
    const fn = isObject(c.function) ? c.function : {};
    return {
      id: typeof c.id === "string" ? c.id : "",
      type: "function",
      function: {
        name: typeof fn.name === "string" ? fn.name : "",
        arguments: typeof fn.arguments === "string" ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
      },
    };
  });
}

/**
 * A Cohere v2 chat reply → OpenAI `chat.completion`. Undefined when it cannot
 * be read, and when Cohere ended it with ERROR or TIMEOUT: that reply is not a
 * completion, and the engine may retry the request elsewhere.
 */
export function chatResponse(body: Buffer, ctx: CallContext): TranslatedBody | undefined {
  const reply = parse(body);
  if (!reply || !isObject(reply.message)) return undefined;
  if (typeof reply.finish_reason === "string" && FAILED_FINISH.has(reply.finish_reason)) return undefined;
  const calls = toolCalls(reply.message.tool_calls);
  const content = text(reply.message.content);
  const message: Json = { role: "assistant", content: content === "" && calls.length > 0 ? null : content };
  if (calls.length > 0) message.tool_calls = calls;
  const usage = usageOf(reply.usage);
  const out: Json = {
    id: typeof reply.id === "string" ? reply.id : "",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: ctx.target.upstreamModel,
    choices: [
      {
        index: 0,
        message,
        finish_reason: finishReason(reply.finish_reason, calls.length > 0),
        logprobs: null,
      },
    ],
  };
  if (usage) out.usage = openaiUsage(usage);
  return { body: JSON.stringify(out), usage };
}

/** The float vectors of one embed v2 reply (`embeddings.float`, or the older list form). */
function vectors(reply: Json): number[][] | undefined {
  const e = reply.embeddings;
  const list = isObject(e) ? e.float : e;
  if (!Array.isArray(list)) return undefined;
  if (!list.every((v) => Array.isArray(v) && v.every((x) => typeof x === "number"))) return undefined;
  return list as number[][];
}

/**
 * Cohere embed v2 replies (one per batch of ≤ 96 texts, in order) joined into
 * one OpenAI embeddings list; usage from `meta.billed_units.input_tokens`.
 * Undefined when a reply cannot be read.
 */
export function embeddingsResponse(
  bodies: Buffer[],
  ctx: CallContext,
  request: Record<string, unknown>,
): TranslatedBody | undefined {
  const all: number[][] = [];
  let prompt = 0;
  for (const body of bodies) {
    const reply = parse(body);
    const list = reply && vectors(reply);
    if (!reply || !list) return undefined;
    all.push(...list);
    const meta = isObject(reply.meta) ? reply.meta : {};
    prompt += tokens(isObject(meta.billed_units) ? meta.billed_units.input_tokens : undefined) ?? 0;
  }
  const inputs = inputTexts(request.input, "Cohere").length;
  return embeddingsList(all, ctx.target.upstreamModel, prompt, request, inputs);
}
