import { isObject, type Json } from "../shared/json.js";
/**
 * OpenAI `messages` → Gemini `contents` and `systemInstruction` texts.
 * Roles become user/model; tool results become functionResponse parts whose
 * name is recovered from the assistant's matching tool call (Gemini needs the
 * name, OpenAI tool messages carry only the id); consecutive contents of one
 * role are merged, so the results of one assistant turn form one user turn.
 */

/** A Gemini `Content`. */
export interface Content {
  role: "user" | "model";
  parts: Json[];
}

const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf",
  mp3: "audio/mp3",
  wav: "audio/wav",
  mp4: "video/mp4",
};

/** The MIME type a URL's extension suggests; `fallback` when it has none known. */
function mimeOf(url: string, fallback: string): string {
  const path = url.split(/[?#]/, 1)[0] ?? "";
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return MIME_BY_EXTENSION[ext] ?? fallback;
}

/** A `data:` URL → inlineData (base64); another URL → fileData. */
function mediaPart(url: string, fallbackMime: string): Json | undefined {
  if (url.startsWith("data:")) {
    const comma = url.indexOf(",");
    if (comma < 0) return undefined;
    const meta = url.slice(5, comma).split(";");
    const raw = url.slice(comma + 1);
    const base64 = meta.includes("base64");
    const data = base64 ? raw : Buffer.from(decodeURIComponent(raw), "utf8").toString("base64");
    return { inlineData: { mimeType: meta[0] || fallbackMime, data } };
  }
  if (url === "") return undefined;
  return { fileData: { mimeType: mimeOf(url, fallbackMime), fileUri: url } };
}

/** One OpenAI content part → a Gemini part (text, image, audio, file); undefined when not expressible. */
function partOf(part: unknown): Json | undefined {
  if (typeof part === "string") return part === "" ? undefined : { text: part };
  if (!isObject(part)) return undefined;
  switch (part.type) {
    case "text":
      return typeof part.text === "string" && part.text !== "" ? { text: part.text } : undefined;
    case "image_url": {
      const image = part.image_url;
      const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
      return typeof url === "string" ? mediaPart(url, "image/jpeg") : undefined;
    }
    case "input_audio": {
      const audio = part.input_audio;
      if (!isObject(audio) || typeof audio.data !== "string") return undefined;
      const format = typeof audio.format === "string" ? audio.format : "wav";
      return { inlineData: { mimeType: `audio/${format}`, data: audio.data } };
    }
    case "file": {
      const file = part.file;
      const data = isObject(file) ? file.file_data : undefined;
      return typeof data === "string" ? mediaPart(data, "application/pdf") : undefined;
    }
    default:
      return undefined;
  }
}

function partsOf(content: unknown): Json[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  return content.map(partOf).filter((p): p is Json => p !== undefined);
}

/** The text of a message's content (string, or its text parts joined by newlines). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (isObject(p) && typeof p.text === "string" ? p.text : typeof p === "string" ? p : ""))
    .filter((t) => t !== "")
    .join("\n");
}

/** A tool result as functionResponse.response: a JSON object as it is, anything else under `result`. */
function responseOf(content: unknown): Json {
  const text = textOf(content);
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return parsed;
  } catch {
    // plain text
  }
  return { result: text };
}

/** An assistant tool call → a functionCall part (arguments as an object). */
function callPart(call: unknown, names: Map<string, string>): Json | undefined {
  if (!isObject(call) || !isObject(call.function) || typeof call.function.name !== "string") return undefined;
  const { name } = call.function;
  if (typeof call.id === "string") names.set(call.id, name);
  let args: unknown = {};
  if (typeof call.function.arguments === "string" && call.function.arguments.trim() !== "") {
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      args = {};
    }
  }
  return { functionCall: { name, args: isObject(args) ? args : {} } };
}

/** The contents of a conversation and its system texts, in order. */
export function contentsOf(messages: unknown): { contents: Content[]; system: string[] } {
  const contents: Content[] = [];
  const system: string[] = [];
  const names = new Map<string, string>();
  const push = (role: Content["role"], parts: Json[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  if (!Array.isArray(messages)) return { contents, system };
  for (const m of messages) {
    if (!isObject(m)) continue;
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOf(m.content);
        if (text !== "") system.push(text);
        break;
      }
      case "assistant": {
        const parts = partsOf(m.content);
        if (Array.isArray(m.tool_calls)) {
          for (const call of m.tool_calls) {
            const part = callPart(call, names);
            if (part) parts.push(part);
          }
        }
        push("model", parts);
        break;
      }
      case "tool":
      case "function": {
        const id = typeof m.tool_call_id === "string" ? m.tool_call_id : undefined;
        const name =
          (id !== undefined ? names.get(id) : undefined) ?? (typeof m.name === "string" ? m.name : "");
        push("user", [{ functionResponse: { name, response: responseOf(m.content) } }]);
        break;
      }
      default:
        push("user", partsOf(m.content));
    }
  }
  return { contents, system };
}
