import { GatewayError } from "../../http/errors.js";
import { inputTexts } from "../shared/embeddings.js";
import { isObject, type Json } from "../shared/json.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, UpstreamRequest } from "../types.js";

/** Cohere's embed v2 takes at most this many texts per call. */
export const MAX_TEXTS_PER_EMBED = 96;

const HEADERS: Readonly<Record<string, string>> = { "content-type": "application/json" };

/**
 * OpenAI content (a string or a list of parts) as Cohere content: strings stay
 * strings; text and image_url parts keep their (shared) shape; other parts are dropped.
 */
function content(value: unknown, images: boolean): unknown {
  if (!Array.isArray(value)) return value ?? "";
  const parts: Json[] = [];
  for (const part of value) {
    if (!isObject(part)) continue;
    if (part.type === "text" && typeof part.text === "string") parts.push({ type: "text", text: part.text });
    else if (images && part.type === "image_url" && isObject(part.image_url)) {
      const { url, detail } = part.image_url;
      parts.push({ type: "image_url", image_url: detail === undefined ? { url } : { url, detail } });
    }
  }
  return parts;
}

/** The text of OpenAI content, for Cohere fields that take only strings or text parts. */
function textParts(value: unknown): unknown {
  return Array.isArray(value) ? content(value, false) : (value ?? "");
}

function toolCalls(value: unknown): Json[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.filter(isObject).map((c) => {
    const fn = isObject(c.function) ? c.function : {};
    return {
      id: c.id,
      type: "function",
      function: { name: fn.name, arguments: typeof fn.arguments === "string" ? fn.arguments : "{}" },
    };
  });
}

/** One OpenAI message as a Cohere v2 message (same roles; `developer` is Cohere's `system`). */
function message(m: unknown): unknown {
  if (!isObject(m)) return m;
  switch (m.role) {
    case "system":
    case "developer":
      return { role: "system", content: textParts(m.content) };
    case "user":
      return { role: "user", content: content(m.content, true) };
    case "assistant": {
      const out: Json = { role: "assistant" };
      const calls = toolCalls(m.tool_calls);
      const text = textParts(m.content);
      // Cohere rejects an empty content next to tool calls: leave it out then.
      if (!(calls && (text === "" || (Array.isArray(text) && text.length === 0)))) out.content = text;
      if (calls) out.tool_calls = calls;
      return out;
    }
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id, content: textParts(m.content) };
    default:
      return m;
  }
}

/** OpenAI `tool_choice` → Cohere's: "required" and a named function force a call ("REQUIRED"), "none" → "NONE". */
function toolChoice(value: unknown): string | undefined {
  if (value === "required" || isObject(value)) return "REQUIRED";
  if (value === "none") return "NONE";
  return undefined;
}

/** OpenAI `response_format` → Cohere's: json_object as is, json_schema's schema under `json_schema`. */
function responseFormat(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  if (value.type === "json_object") return { type: "json_object" };
  if (value.type === "json_schema" && isObject(value.json_schema)) {
    const { schema } = value.json_schema;
    return schema === undefined ? { type: "json_object" } : { type: "json_object", json_schema: schema };
  }
  return undefined;
}

/** Copies `from` of the body to `to` of the output when present. */
function copy(body: Json, out: Json, from: string, to = from): void {
  if (body[from] !== undefined && body[from] !== null) out[to] = body[from];
}

/**
 * An OpenAI chat request as a Cohere v2 `POST /chat`: messages with the same
 * roles (tool calls and tool results keep OpenAI's shape), function tools,
 * `top_p` → `p`, the `top_k` extension → `k`, `stop` → `stop_sequences`,
 * `max_completion_tokens` → `max_tokens`. Cohere always reports usage at the
 * end of a stream, so nothing is added for it. `n` > 1 is refused (Cohere
 * makes one reply per request).
 */
export function chatRequest(body: Json, ctx: CallContext): UpstreamRequest {
  if (typeof body.n === "number" && body.n > 1) {
    throw new GatewayError("invalid_request", "Cohere makes one choice per request: 'n' must be 1", "n");
  }
  const out: Json = { model: ctx.target.upstreamModel };
  out.messages = Array.isArray(body.messages) ? body.messages.map(message) : [];
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = body.tools
      .filter((t): t is Json => isObject(t) && t.type === "function" && isObject(t.function))
      .map((t) => ({ type: "function", function: t.function }));
  }
  const choice = toolChoice(body.tool_choice);
  if (choice) out.tool_choice = choice;
  copy(body, out, "max_completion_tokens", "max_tokens");
  copy(body, out, "max_tokens");
  copy(body, out, "temperature");
  copy(body, out, "top_p", "p");
  copy(body, out, "top_k", "k");
  copy(body, out, "seed");
  copy(body, out, "frequency_penalty");
  copy(body, out, "presence_penalty");
  if (typeof body.stop === "string") out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stop_sequences = body.stop;
  const format = responseFormat(body.response_format);
  if (format) out.response_format = format;
  if (ctx.stream) out.stream = true;
  return { path: pathFor(ctx, "chat", "/chat"), headers: { ...HEADERS }, body: JSON.stringify(out) };
}

/**
 * An OpenAI embeddings request as Cohere embed v2 calls of at most 96 texts
 * each, in input order: `input_type` "search_document" unless the client sets
 * the `input_type` extension, float embeddings (Cohere's own base64 is not
 * OpenAI's float32 bytes: the gateway encodes them), `dimensions` → `output_dimension`.
 */
export function embeddingsRequest(body: Json, ctx: CallContext): UpstreamRequest[] {
  const all = inputTexts(body.input, "Cohere");
  const path = pathFor(ctx, "embeddings", "/embed");
  const out: UpstreamRequest[] = [];
  for (let i = 0; i < all.length; i += MAX_TEXTS_PER_EMBED) {
    const request: Json = {
      model: ctx.target.upstreamModel,
      texts: all.slice(i, i + MAX_TEXTS_PER_EMBED),
      input_type: typeof body.input_type === "string" ? body.input_type : "search_document",
      embedding_types: ["float"],
    };
    copy(body, request, "dimensions", "output_dimension");
    out.push({ path, headers: { ...HEADERS }, body: JSON.stringify(request) });
  }
  return out;
}
