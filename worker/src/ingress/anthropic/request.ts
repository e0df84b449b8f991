import { GatewayError } from "../../http/errors.js";

/**
 * The Anthropic Messages API as an ingress: a `/v1/messages` request is
 * turned into the gateway's internal (OpenAI) chat request, routed to any
 * provider like every chat request, and the answer turned back into
 * Anthropic's shape. This is what lets Claude Code and the Anthropic SDKs use
 * the gateway.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(message: string, param: string | null = null): GatewayError {
  return new GatewayError("invalid_request", message, param);
}

/** Text of a `string | block[]` content (text blocks only). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((b): b is Json => isObject(b) && b.type === "text" && typeof b.text === "string")
    .map((b) => b.text as string)
    .join("\n");
}

/** An Anthropic image block → an OpenAI image part. */
function imagePart(block: Json): Json {
  const source = isObject(block.source) ? block.source : {};
  if (source.type === "url" && typeof source.url === "string") {
    return { type: "image_url", image_url: { url: source.url } };
  }
  if (source.type === "base64" && typeof source.data === "string") {
    const mediaType = typeof source.media_type === "string" ? source.media_type : "image/png";
    return { type: "image_url", image_url: { url: `data:${mediaType};base64,${source.data}` } };
  }
  throw bad("image blocks need a base64 or url source", "messages");
}

/** One Anthropic user turn → OpenAI messages: tool results first (as `tool` messages), then the rest. */
function userTurn(content: unknown): Json[] {
  if (typeof content === "string") return [{ role: "user", content }];
  if (!Array.isArray(content))
    throw bad("message content must be a string or an array of blocks", "messages");
  const out: Json[] = [];
  const parts: Json[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    if (block.type === "tool_result") {
      const text = textOf(block.content);
      out.push({
        role: "tool",
        tool_call_id: String(block.tool_use_id ?? ""),
        content: block.is_error === true ? `Error: ${text}` : text,
      });
    } else if (block.type === "text" && typeof block.text === "string") {
      parts.push({ type: "text", text: block.text });
    } else if (block.type === "image") {
      parts.push(imagePart(block));
    }
    // document, thinking and other blocks have no OpenAI equivalent: left out
  }
  if (parts.length > 0) {
    const allText = parts.every((p) => p.type === "text");
    out.push({ role: "user", content: allText ? parts.map((p) => p.text).join("\n") : parts });
  }
  return out;
}

/** One Anthropic assistant turn → one OpenAI assistant message (text and tool calls). */
function assistantTurn(content: unknown): Json {
  if (typeof content === "string") return { role: "assistant", content };
  const text: string[] = [];
  const calls: Json[] = [];
  for (const block of Array.isArray(content) ? content : []) {
    if (!isObject(block)) continue;
    if (block.type === "text" && typeof block.text === "string") text.push(block.text);
    if (block.type === "tool_use") {
      calls.push({
        id: String(block.id ?? ""),
        type: "function",
        function: { name: String(block.name ?? ""), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const message: Json = { role: "assistant", content: text.length > 0 ? text.join("\n") : null };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function toolChoice(
  choice: unknown,
  tools: unknown,
): { tool_choice?: unknown; parallel_tool_calls?: boolean } {
  if (!isObject(choice) || !Array.isArray(tools)) return {};
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case "any":
      return { tool_choice: "required", ...parallel };
    case "none":
      return { tool_choice: "none" };
    case "tool":
      return {
        tool_choice: { type: "function", function: { name: String(choice.name ?? "") } },
        ...parallel,
      };
    default:
      return { tool_choice: "auto", ...parallel };
  }
}

/**
 * An Anthropic Messages request → the internal chat request. Checks what
 * Anthropic requires (model, max_tokens, messages) with clear 400s.
 */
export function toChatRequest(body: Json): Json {
  const { model, max_tokens: maxTokens, messages } = body;
  if (typeof model !== "string" || model === "") throw bad("model: Field required", "model");
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
    throw bad("max_tokens: Field required (a positive integer)", "max_tokens");
  }
  if (!Array.isArray(messages) || messages.length === 0)
    throw bad("messages: at least one message is required", "messages");
  const out: Json[] = [];
  const system = textOf(body.system);
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (!isObject(m) || (m.role !== "user" && m.role !== "assistant")) {
      throw bad("messages: each message needs role user or assistant", "messages");
    }
    if (m.role === "user") out.push(...userTurn(m.content));
    else out.push(assistantTurn(m.content));
  }
  const chat: Json = { model, messages: out, max_tokens: maxTokens };
  if (body.stream === true) chat.stream = true;
  if (typeof body.temperature === "number") chat.temperature = body.temperature;
  if (typeof body.top_p === "number") chat.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  if (isObject(body.metadata) && typeof body.metadata.user_id === "string") chat.user = body.metadata.user_id;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    chat.tools = body.tools.filter(isObject).map((t) => ({
      type: "function",
      function: {
        name: String(t.name ?? ""),
        ...(typeof t.description === "string" ? { description: t.description } : {}),
        parameters: isObject(t.input_schema) ? t.input_schema : { type: "object", properties: {} },
      },
    }));
    Object.assign(chat, toolChoice(body.tool_choice, body.tools));
  }
  return chat;
}
