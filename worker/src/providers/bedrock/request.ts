import { isObject } from "../shared/json.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, UpstreamRequest } from "../types.js";
import { convertMessages, unsupported } from "./messages.js";

/**
 * OpenAI chat request → Bedrock Converse (`/model/{model}/converse`) or
 * ConverseStream (`/model/{model}/converse-stream`). The model travels in
 * the path (URL-encoded: ids hold ':'), never in the body. Usage always comes
 * with ConverseStream (its `metadata` event), so nothing is asked for.
 */

const number = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/** max_tokens, temperature (clamped to Bedrock's 0..1), top_p, stop → inferenceConfig; undefined when empty. */
function inferenceConfig(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const maxTokens = number(body.max_completion_tokens) ?? number(body.max_tokens);
  if (maxTokens !== undefined) out.maxTokens = Math.max(1, Math.floor(maxTokens));
  const temperature = number(body.temperature);
  if (temperature !== undefined) out.temperature = Math.min(1, Math.max(0, temperature));
  const topP = number(body.top_p);
  if (topP !== undefined) out.topP = Math.min(1, Math.max(0, topP));
  const stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  if (Array.isArray(stop)) {
    const sequences = stop.filter((s): s is string => typeof s === "string" && s !== "");
    if (sequences.length > 0) out.stopSequences = sequences;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** OpenAI function tools → Converse toolSpecs. */
function toolSpecs(tools: unknown): Record<string, unknown>[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) unsupported("tools must be an array", "tools");
  return tools.map((tool: unknown, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== "function" || !isObject(fn) || typeof fn.name !== "string") {
      unsupported("only function tools with a name are supported by Bedrock", `tools[${i}]`);
    }
    const schema = isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} };
    return {
      toolSpec: {
        name: fn.name,
        ...(typeof fn.description === "string" && fn.description !== ""
          ? { description: fn.description }
          : {}),
        inputSchema: { json: schema },
      },
    };
  });
}

/** OpenAI tool_choice → Converse toolChoice; "none" (no Bedrock equivalent) and absent → undefined. */
function toolChoice(choice: unknown): Record<string, unknown> | undefined {
  if (choice === "auto") return { auto: {} };
  if (choice === "required") return { any: {} };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { tool: { name: choice.function.name } };
  }
  return undefined;
}

/**
 * toolConfig: the client's tools and choice. `tool_choice: "none"` (which
 * Bedrock lacks) drops the tools and the choice. A history holding
 * toolUse/toolResult blocks needs a toolConfig all the same (Bedrock's
 * ValidationException otherwise): the client's tools without a choice, or,
 * when it sent none, the tools called in the history with an open schema.
 */
function toolConfig(
  body: Record<string, unknown>,
  usedTools: readonly string[],
  hasToolBlocks: boolean,
): Record<string, unknown> | undefined {
  const none = body.tool_choice === "none";
  let tools = none && !hasToolBlocks ? [] : toolSpecs(body.tools);
  if (tools.length === 0 && hasToolBlocks) {
    tools = usedTools.map((name) => ({
      toolSpec: { name, inputSchema: { json: { type: "object", properties: {} } } },
    }));
  }
  if (tools.length === 0) return undefined;
  const choice = none ? undefined : toolChoice(body.tool_choice);
  return { tools, ...(choice ? { toolChoice: choice } : {}) };
}

/** The Converse body of an OpenAI chat request (`body` is not modified). */
export function converseBody(body: Record<string, unknown>): Record<string, unknown> {
  const { system, messages, usedTools, hasToolBlocks } = convertMessages(body.messages);
  const out: Record<string, unknown> = { messages };
  if (system.length > 0) out.system = system;
  const inference = inferenceConfig(body);
  if (inference) out.inferenceConfig = inference;
  const tools = toolConfig(body, usedTools, hasToolBlocks);
  if (tools) out.toolConfig = tools;
  const topK = number(body.top_k);
  if (topK !== undefined) out.additionalModelRequestFields = { top_k: topK };
  return out;
}

/** The Converse or ConverseStream request for an OpenAI chat request. */
export function chatRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const path = ctx.stream
    ? pathFor(ctx, "chatStream", "/model/{model}/converse-stream")
    : pathFor(ctx, "chat", "/model/{model}/converse");
  return {
    path,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(converseBody(body)),
  };
}
