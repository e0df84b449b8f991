import { createHash } from "node:crypto";
import { GatewayError } from "../../http/errors.js";
import { isObject } from "../shared/json.js";

/**
 * OpenAI chat messages → Converse `system` and `messages`. Bedrock wants
 * alternating user/assistant turns of content blocks: system and developer
 * messages go to `system`, tool results become `toolResult` blocks of a user
 * turn, and consecutive turns of the same role are merged into one.
 *
 * What Bedrock cannot take is refused with a 400 naming the field (a
 * translation error, GatewayError): image URLs other than `data:` URLs
 * (Bedrock takes image bytes or S3 only, and the gateway does not fetch
 * URLs), image types other than png/jpeg/gif/webp, content parts other than
 * text and images, and tool-call arguments that are not a JSON object.
 */

/** One Converse content block (a union: exactly one key). */
export type Block = Record<string, unknown>;

/** One Converse message. */
export interface BedrockMessage {
  role: "user" | "assistant";
  content: Block[];
}

/** What the conversation needs from the tool config. */
export interface Converted {
  system: Block[];
  messages: BedrockMessage[];
  /** Names of the tools called in the history (toolConfig must exist when it holds toolUse/toolResult). */
  usedTools: string[];
  hasToolBlocks: boolean;
}

const IMAGE_FORMATS: Readonly<Record<string, string>> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

const TOOL_USE_ID = /^[a-zA-Z0-9_.:-]{1,64}$/;

/**
 * A tool-call id as Bedrock accepts it (`[a-zA-Z0-9_.:-]{1,64}`): valid ids
 * pass unchanged, others are rewritten the same way wherever they appear
 * (assistant tool_calls and tool messages), so calls and results still pair up.
 */
export function toolUseId(id: string): string {
  if (TOOL_USE_ID.test(id)) return id;
  const digest = createHash("sha256").update(id).digest("hex").slice(0, 16);
  return `${id.replace(/[^a-zA-Z0-9_.:-]/g, "_").slice(0, 47)}-${digest}`;
}

/** A translation error: the client's request cannot be expressed in Bedrock's format. */
export function unsupported(message: string, param: string): never {
  throw new GatewayError("invalid_request", message, param);
}

/** An OpenAI image_url part → a Converse image block (bytes only). */
function imageBlock(part: Record<string, unknown>, param: string): Block {
  const image = part.image_url;
  const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
  if (typeof url !== "string") unsupported("image_url.url must be a string", param);
  const m = DATA_URL.exec(url);
  if (!m) {
    unsupported(
      "Bedrock accepts images as data: URLs (base64) only; the gateway does not download image URLs",
      param,
    );
  }
  const format = IMAGE_FORMATS[(m[1] as string).toLowerCase()];
  if (!format) unsupported(`Bedrock does not accept images of type ${m[1]} (png, jpeg, gif, webp)`, param);
  return { image: { format, source: { bytes: m[2] } } };
}

/** Text and image blocks of a message's content (a string or an array of parts); blank text is left out. */
function contentBlocks(content: unknown, param: string, images: boolean): Block[] {
  if (typeof content === "string") return content.trim() === "" ? [] : [{ text: content }];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) unsupported("content must be a string or an array of parts", param);
  const blocks: Block[] = [];
  content.forEach((part: unknown, i) => {
    const where = `${param}[${i}]`;
    if (!isObject(part)) unsupported("a content part must be an object", where);
    if (
      (part.type === "text" || part.type === "refusal") &&
      typeof (part.text ?? part.refusal) === "string"
    ) {
      const text = (part.text ?? part.refusal) as string;
      if (text.trim() !== "") blocks.push({ text });
    } else if (part.type === "image_url" && images) {
      blocks.push(imageBlock(part, where));
    } else {
      unsupported(`content parts of type ${String(part.type)} are not supported by Bedrock`, where);
    }
  });
  return blocks;
}

/** The text of a system/developer or tool message. */
function textOf(content: unknown, param: string): string {
  return contentBlocks(content, param, false)
    .map((b) => b.text as string)
    .join("\n");
}

/** Assistant tool_calls → toolUse blocks (arguments parsed into the input object). */
function toolUseBlocks(calls: unknown, param: string, used: Set<string>): Block[] {
  if (calls === undefined || calls === null) return [];
  if (!Array.isArray(calls)) unsupported("tool_calls must be an array", param);
  return calls.map((call: unknown, i) => {
    const where = `${param}[${i}]`;
    const fn = isObject(call) ? call.function : undefined;
    if (!isObject(call) || typeof call.id !== "string" || !isObject(fn) || typeof fn.name !== "string") {
      unsupported("a tool call needs an id and a function name", where);
    }
    let input: unknown = {};
    const args = fn.arguments;
    if (typeof args === "string" && args.trim() !== "") {
      try {
        input = JSON.parse(args);
      } catch {
        input = undefined;
      }
    } else if (args !== undefined && args !== "") input = args;
    if (!isObject(input))
      unsupported("tool call arguments must be a JSON object", `${where}.function.arguments`);
    used.add(fn.name);
    return { toolUse: { toolUseId: toolUseId(call.id), name: fn.name, input } };
  });
}

/** Appends a turn, merging it into the previous one of the same role. */
function push(messages: BedrockMessage[], role: BedrockMessage["role"], content: Block[]): void {
  if (content.length === 0) return;
  const last = messages[messages.length - 1];
  if (last?.role === role) last.content.push(...content);
  else messages.push({ role, content });
}

/** Converts the client's messages (already checked to be a non-empty array by the handler). */
export function convertMessages(input: unknown): Converted {
  const system: Block[] = [];
  const messages: BedrockMessage[] = [];
  const used = new Set<string>();
  let hasToolBlocks = false;
  const list: unknown[] = Array.isArray(input) ? input : [];
  list.forEach((m, i) => {
    const param = `messages[${i}]`;
    if (!isObject(m)) unsupported("a message must be an object", param);
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOf(m.content, `${param}.content`);
        if (text !== "") system.push({ text });
        return;
      }
      case "user":
        push(messages, "user", contentBlocks(m.content, `${param}.content`, true));
        return;
      case "assistant": {
        const calls = toolUseBlocks(m.tool_calls, `${param}.tool_calls`, used);
        if (calls.length > 0) hasToolBlocks = true;
        push(messages, "assistant", [...contentBlocks(m.content, `${param}.content`, false), ...calls]);
        return;
      }
      case "tool": {
        if (typeof m.tool_call_id !== "string") unsupported("a tool message needs a tool_call_id", param);
        const text = textOf(m.content, `${param}.content`);
        hasToolBlocks = true;
        push(messages, "user", [
          {
            toolResult: {
              toolUseId: toolUseId(m.tool_call_id),
              content: text === "" ? [] : [{ text }],
              status: "success",
            },
          },
        ]);
        return;
      }
      default:
        unsupported(`messages of role ${String(m.role)} are not supported by Bedrock`, `${param}.role`);
    }
  });
  return { system, messages, usedTools: [...used], hasToolBlocks };
}
