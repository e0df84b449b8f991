import { createHash } from "node:crypto";
import { isObject, openaiUsage } from "../shared/json.js";
import type { CallContext, TranslatedBody, Usage } from "../types.js";

/** The fields of a Gemini `Part` the gateway reads. */
export interface GeminiPart {
  text?: unknown;
  thought?: unknown;
  functionCall?: { id?: unknown; name?: unknown; args?: unknown };
}

/** The fields of a Gemini `Candidate` the gateway reads. */
export interface GeminiCandidate {
  content?: { parts?: unknown };
  finishReason?: unknown;
  index?: unknown;
}

/** A `GenerateContentResponse` (every streamed chunk has the same shape). */
export interface GeminiResponse {
  candidates?: unknown;
  usageMetadata?: unknown;
  modelVersion?: unknown;
  responseId?: unknown;
  promptFeedback?: { blockReason?: unknown };
}

interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
}

const count = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0);

/**
 * `usageMetadata` → usage in OpenAI's sense: completion tokens include the
 * thinking tokens (Gemini counts them apart), reported again as reasoning.
 */
export function usageFrom(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const u = value as UsageMetadata;
  const thoughts = count(u.thoughtsTokenCount);
  return {
    promptTokens: count(u.promptTokenCount),
    completionTokens: count(u.candidatesTokenCount) + thoughts,
    cachedTokens: count(u.cachedContentTokenCount),
    reasoningTokens: thoughts,
  };
}

const FILTERED = new Set([
  "SAFETY",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "LANGUAGE",
  "RECITATION",
  "IMAGE_RECITATION",
]);

/**
 * Gemini's finishReason → OpenAI's. Gemini says STOP when it calls
 * functions: a candidate with functionCall parts finished with tool_calls.
 */
export function finishReason(reason: unknown, hasToolCalls: boolean): string {
  if (reason === "MAX_TOKENS") return "length";
  if (typeof reason === "string" && FILTERED.has(reason)) return "content_filter";
  return hasToolCalls ? "tool_calls" : "stop";
}

/** The response's id for OpenAI: Gemini's responseId, else a digest of the reply. */
export function responseKey(parsed: GeminiResponse, raw: Buffer | string): string {
  if (typeof parsed.responseId === "string" && parsed.responseId !== "") return parsed.responseId;
  return createHash("sha256").update(raw).digest("hex").slice(0, 24);
}

/**
 * A tool-call id: Gemini's own `functionCall.id` when it sends one, else
 * minted from the response id, the candidate and the call's position, so the
 * same reply always gets the same ids (ids are ASCII letters and digits for
 * any provider the conversation is replayed to).
 */
export function toolCallId(call: GeminiPart["functionCall"], key: string, choice: number, n: number): string {
  if (typeof call?.id === "string" && call.id !== "") return call.id;
  const digest = createHash("sha256").update(`${key}:${choice}:${n}`).digest("hex");
  return `call_${digest.slice(0, 24)}`;
}

/** The parts of a candidate that are objects. */
export function partsOf(candidate: GeminiCandidate): GeminiPart[] {
  const parts = candidate.content?.parts;
  return Array.isArray(parts) ? parts.filter(isObject) : [];
}

/** Visible text of parts (thought parts are the model's reasoning and are left out). */
export function textOf(parts: readonly GeminiPart[]): string {
  let text = "";
  for (const p of parts) if (typeof p.text === "string" && p.thought !== true) text += p.text;
  return text;
}

/** A functionCall part as an OpenAI tool call (arguments as a JSON string). */
export function toolCall(part: GeminiPart, id: string): Record<string, unknown> {
  const call = part.functionCall ?? {};
  return {
    id,
    type: "function",
    function: {
      name: typeof call.name === "string" ? call.name : "",
      arguments: JSON.stringify(isObject(call.args) ? call.args : {}),
    },
  };
}

/** The candidates in order of their index, each with the choice index it becomes. */
export function candidatesOf(parsed: GeminiResponse): Array<[number, GeminiCandidate]> {
  const list = Array.isArray(parsed.candidates) ? parsed.candidates.filter(isObject) : [];
  return list
    .map((c, i): [number, GeminiCandidate] => [Number.isSafeInteger(c.index) ? (c.index as number) : i, c])
    .sort((a, b) => a[0] - b[0]);
}

function choiceOf(index: number, candidate: GeminiCandidate, key: string): Record<string, unknown> {
  const parts = partsOf(candidate);
  const calls = parts
    .filter((p) => isObject(p.functionCall))
    .map((p, n) => toolCall(p, toolCallId(p.functionCall, key, index, n)));
  const text = textOf(parts);
  const finish = finishReason(candidate.finishReason, calls.length > 0);
  // No text: null beside tool calls or for filtered output (as OpenAI), else "".
  const empty = calls.length > 0 || finish === "content_filter" ? null : "";
  const message: Record<string, unknown> = { role: "assistant", content: text !== "" ? text : empty };
  if (calls.length > 0) message.tool_calls = calls;
  return { index, message, finish_reason: finish, logprobs: null };
}

/**
 * A `generateContent` reply → an OpenAI `chat.completion`: one choice per
 * candidate. A prompt Gemini blocked (no candidates, a `promptFeedback.blockReason`)
 * becomes an empty choice finished by content_filter. Undefined when the body
 * is not a JSON object.
 */
export function chatResponse(body: Buffer, ctx: CallContext): TranslatedBody | undefined {
  let parsed: GeminiResponse;
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    if (!isObject(value)) return undefined;
    parsed = value as GeminiResponse;
  } catch {
    return undefined;
  }
  const key = responseKey(parsed, body);
  const choices = candidatesOf(parsed).map(([index, c]) => choiceOf(index, c, key));
  if (choices.length === 0) {
    const blocked = parsed.promptFeedback?.blockReason !== undefined;
    choices.push({
      index: 0,
      message: { role: "assistant", content: blocked ? null : "" },
      finish_reason: blocked ? "content_filter" : "stop",
      logprobs: null,
    });
  }
  const usage = usageFrom(parsed.usageMetadata);
  const out: Record<string, unknown> = {
    id: `chatcmpl-${key}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof parsed.modelVersion === "string" ? parsed.modelVersion : ctx.target.upstreamModel,
    choices,
  };
  if (usage) out.usage = openaiUsage(usage);
  return { body: JSON.stringify(out), usage };
}
