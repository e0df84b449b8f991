import { anthropicError, anthropicUsage, messageId, stopReason } from "./response.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * Turns the gateway's OpenAI chunk stream (whole SSE events, ending with
 * `data: [DONE]`) into Anthropic's event sequence: message_start, for each
 * content block content_block_start / deltas / content_block_stop (text, or
 * tool_use with input_json_delta fragments), message_delta with the stop
 * reason and usage, message_stop. An OpenAI error event becomes an Anthropic
 * `error` event. Needs the usage chunk upstream (the caller asks for it).
 */
export interface AnthropicStream {
  /** OpenAI SSE text (whole events) → Anthropic SSE text (possibly empty). */
  convert(openai: string): string;
  /** What is still owed when the stream ends without [DONE]. */
  end(): string;
}

export function createAnthropicStream(requestedModel: string): AnthropicStream {
  let started = false;
  let finished = false;
  let open: { index: number; kind: "text" | "tool" } | undefined;
  let blocks = 0;
  const toolBlocks = new Map<number, number>(); // OpenAI tool-call index -> Anthropic block index
  let finish: unknown = null;
  let usage: unknown;

  function start(chunk: Json): string {
    started = true;
    const message = {
      id: messageId(chunk.id),
      type: "message",
      role: "assistant",
      model: typeof chunk.model === "string" ? chunk.model : requestedModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return event("message_start", { message });
  }

  function close(): string {
    if (!open) return "";
    const out = event("content_block_stop", { index: open.index });
    open = undefined;
    return out;
  }

  function openBlock(kind: "text" | "tool", block: Json): string {
    const out = close();
    open = { index: blocks++, kind };
    return out + event("content_block_start", { index: open.index, content_block: block });
  }

  function toolCalls(calls: unknown[]): string {
    let out = "";
    for (const call of calls) {
      if (!isObject(call)) continue;
      const index = typeof call.index === "number" ? call.index : 0;
      const fn = isObject(call.function) ? call.function : {};
      if (typeof call.id === "string" && call.id !== "") {
        out += openBlock("tool", { type: "tool_use", id: call.id, name: String(fn.name ?? ""), input: {} });
        toolBlocks.set(index, open?.index ?? 0);
      }
      const args = fn.arguments;
      const block = toolBlocks.get(index);
      if (typeof args === "string" && args !== "" && block !== undefined) {
        out += event("content_block_delta", {
          index: block,
          delta: { type: "input_json_delta", partial_json: args },
        });
      }
    }
    return out;
  }

  function stop(): string {
    if (finished || !started) return "";
    finished = true;
    const u = anthropicUsage(usage);
    return (
      close() +
      event("message_delta", { delta: { stop_reason: stopReason(finish), stop_sequence: null }, usage: u }) +
      event("message_stop", {})
    );
  }

  function onChunk(chunk: Json): string {
    if (isObject(chunk.error)) {
      finished = true;
      const message = typeof chunk.error.message === "string" ? chunk.error.message : "the provider failed";
      return event("error", { error: (JSON.parse(anthropicError(502, message)) as Json).error as Json });
    }
    let out = started ? "" : start(chunk);
    if (chunk.usage) usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isObject(choice)) return out;
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (typeof delta.content === "string" && delta.content !== "") {
      if (open?.kind !== "text") out += openBlock("text", { type: "text", text: "" });
      out += event("content_block_delta", {
        index: open?.index ?? 0,
        delta: { type: "text_delta", text: delta.content },
      });
    }
    if (Array.isArray(delta.tool_calls)) out += toolCalls(delta.tool_calls);
    if (choice.finish_reason) finish = choice.finish_reason;
    return out;
  }

  return {
    convert(openai) {
      let out = "";
      for (const raw of openai.split(/\r?\n\r?\n/)) {
        const data = raw
          .split(/\r?\n/)
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(l.charCodeAt(5) === 32 ? 6 : 5))
          .join("\n");
        if (data === "" || finished) continue;
        if (data === "[DONE]") {
          out += stop();
          continue;
        }
        try {
          out += onChunk(JSON.parse(data) as Json);
        } catch {
          // an event that is not JSON: nothing an Anthropic client could use
        }
      }
      return out;
    },
    end: stop,
  };
}
