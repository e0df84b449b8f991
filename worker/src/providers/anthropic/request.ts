import { isObject, type Json } from "../shared/json.js";
import { pathFor } from "../shared/paths.js";
import { applyQuirks } from "../shared/quirks.js";
import type { CallContext, UpstreamRequest } from "../types.js";

/** Anthropic requires `max_tokens`; this is sent when the client gave no limit. */
export const DEFAULT_MAX_TOKENS = 4096;

interface Turn {
  role: "user" | "assistant";
  content: Json[];
}

/** The text of an OpenAI message content: the string, or its text parts joined. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const part of content) if (isObject(part) && typeof part.text === "string") parts.push(part.text);
  return parts.join("\n");
}

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s;

/** An image (or PDF) block of a data: URL (base64 source) or an http(s) URL (url source). */
function mediaBlock(url: unknown): Json | undefined {
  if (typeof url !== "string") return undefined;
  const data = DATA_URL.exec(url);
  if (data) {
    const [, mediaType = "", params = "", payload = ""] = data;
    if (!params.includes(";base64")) return undefined;
    const type = mediaType === "application/pdf" ? "document" : "image";
    return { type, source: { type: "base64", media_type: mediaType, data: payload } };
  }
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  return undefined;
}

/** One OpenAI content part → an Anthropic block; undefined for empty text and parts Anthropic cannot take. */
function partBlock(part: unknown): Json | undefined {
  if (typeof part === "string") return part === "" ? undefined : { type: "text", text: part };
  if (!isObject(part)) return undefined;
  if (part.type === "text") {
    return typeof part.text === "string" && part.text !== "" ? { type: "text", text: part.text } : undefined;
  }
  if (part.type === "image_url") {
    const image = part.image_url;
    return mediaBlock(isObject(image) ? image.url : image);
  }
  if (part.type === "file" && isObject(part.file)) return mediaBlock(part.file.file_data);
  return undefined;
}

/** OpenAI message content (a string or parts) → Anthropic blocks. */
function blocksOf(content: unknown): Json[] {
  const parts = Array.isArray(content) ? content : [content];
  const out: Json[] = [];
  for (const part of parts) {
    const block = partBlock(part);
    if (block) out.push(block);
  }
  return out;
}

/** Tool-call arguments (a JSON string) → the object Anthropic wants as `input`; `{}` when empty or not an object. */
function inputOf(args: unknown): Json {
  if (isObject(args)) return args;
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function toolUses(calls: unknown): Json[] {
  if (!Array.isArray(calls)) return [];
  const out: Json[] = [];
  for (const call of calls) {
    if (!isObject(call)) continue;
    const fn = isObject(call.function) ? call.function : {};
    out.push({
      type: "tool_use",
      id: typeof call.id === "string" ? call.id : "",
      name: typeof fn.name === "string" ? fn.name : "",
      input: inputOf(fn.arguments),
    });
  }
  return out;
}

function toolResult(message: Json): Json {
  const { content } = message;
  const block: Json = {
    type: "tool_result",
    tool_use_id: typeof message.tool_call_id === "string" ? message.tool_call_id : "",
  };
  block.content =
    typeof content === "string" || !Array.isArray(content) ? textOf(content) : blocksOf(content);
  return block;
}

/**
 * System and developer messages → the top-level `system` (joined by blank
 * lines); the rest → alternating user/assistant turns of content blocks.
 * Tool results become tool_result blocks of a user turn, and consecutive
 * turns of the same role are merged, so the results of one assistant turn
 * share one user turn. A turn that is a single text block is sent as a string.
 */
function conversation(messages: unknown): { system: string[]; turns: Json[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  for (const m of Array.isArray(messages) ? messages : []) {
    if (!isObject(m)) continue;
    let turn: Turn;
    if (m.role === "system" || m.role === "developer") {
      const text = textOf(m.content);
      if (text !== "") system.push(text);
      continue;
    }
    if (m.role === "user") turn = { role: "user", content: blocksOf(m.content) };
    else if (m.role === "tool") turn = { role: "user", content: [toolResult(m)] };
    else if (m.role === "assistant") {
      turn = { role: "assistant", content: [...blocksOf(m.content), ...toolUses(m.tool_calls)] };
    } else continue;
    const last = turns.at(-1);
    if (last?.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  }
  return {
    system,
    turns: turns.map(({ role, content }) => {
      const [only] = content;
      const single = content.length === 1 && only?.type === "text" && Object.keys(only).length === 2;
      return { role, content: single ? only.text : content };
    }),
  };
}

function toolsOf(tools: unknown): Json[] {
  if (!Array.isArray(tools)) return [];
  const out: Json[] = [];
  for (const tool of tools) {
    if (!isObject(tool) || !isObject(tool.function)) continue;
    const fn = tool.function;
    const entry: Json = { name: fn.name };
    if (typeof fn.description === "string") entry.description = fn.description;
    entry.input_schema = isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} };
    out.push(entry);
  }
  return out;
}

/** OpenAI `tool_choice` and `parallel_tool_calls` → Anthropic's `tool_choice`; undefined to leave it out. */
function toolChoiceOf(choice: unknown, parallel: unknown): Json | undefined {
  let out: Json | undefined;
  if (choice === "auto") out = { type: "auto" };
  else if (choice === "none") return { type: "none" };
  else if (choice === "required") out = { type: "any" };
  else if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    out = { type: "tool", name: choice.function.name };
  }
  if (parallel === false) out = { ...(out ?? { type: "auto" }), disable_parallel_tool_use: true };
  return out;
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** OpenAI `stop` (a string or an array) → `stop_sequences`; undefined when there are none. */
function stopSequences(stop: unknown): string[] | undefined {
  const list = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  const out = list.filter((s): s is string => typeof s === "string" && s !== "");
  return out.length > 0 ? out : undefined;
}

/**
 * An OpenAI chat request → an Anthropic Messages request (reference §2.2).
 * Fields Anthropic has no slot for (n, logprobs, penalties, seed,
 * response_format) are left out. The provider row decides where the model
 * goes (`modelInBody: false`: only in the path, as on Vertex AI) and adds its
 * quirks (`bodyDefaults`, e.g. Vertex's `anthropic_version`) to the native body.
 */
export function chatRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const { credential, upstreamModel } = ctx.target;
  const out: Json = {};
  if (credential.provider.modelInBody !== false) out.model = upstreamModel;
  const limit = isNumber(body.max_completion_tokens) ? body.max_completion_tokens : body.max_tokens;
  out.max_tokens = isNumber(limit) ? limit : DEFAULT_MAX_TOKENS;
  const { system, turns } = conversation(body.messages);
  if (system.length > 0) out.system = system.join("\n\n");
  out.messages = turns;
  const tools = toolsOf(body.tools);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = toolChoiceOf(body.tool_choice, body.parallel_tool_calls);
    if (choice) out.tool_choice = choice;
  }
  const stop = stopSequences(body.stop);
  if (stop) out.stop_sequences = stop;
  // Newer Claude models reject temperature and top_p together: top_p only goes without a temperature.
  if (isNumber(body.temperature)) out.temperature = Math.min(1, Math.max(0, body.temperature));
  else if (isNumber(body.top_p)) out.top_p = body.top_p;
  if (typeof body.user === "string" && body.user !== "") out.metadata = { user_id: body.user };
  if (ctx.stream) out.stream = true;
  return {
    path: pathFor(ctx, ctx.stream ? "chatStream" : "chat", "/messages"),
    headers: { "content-type": "application/json" },
    body: JSON.stringify(applyQuirks(out, credential.provider)),
  };
}
