import { isObject, type Json, openaiUsage } from "../shared/json.js";
import {
  createSseSplitter,
  DONE_EVENT,
  MALFORMED_STREAM,
  parseEvent,
  truncatedStream,
} from "../shared/sse.js";
import type { CallContext, StreamOptions, StreamTranslator, TranslatedError, Usage } from "../types.js";
import { streamError } from "./errors.js";
import { type AnthropicUsage, completionId, finishReason, usageOf } from "./response.js";

/** An unterminated event longer than this is not a real Anthropic event: the stream is broken. */
const MAX_PENDING = 4 << 20;
const EMPTY = "";
const TRUNCATED = truncatedStream("message_stop");

/**
 * Anthropic's SSE events → OpenAI chunks (reference §2.4, §2.5), whole
 * events in, whole events out, cut anywhere. message_start is held back and
 * goes out as the role chunk with the first content, so an error right after
 * it can still be failed over; text and input_json_delta fragments become
 * content and tool-call deltas (tool-call indexes count tool calls, not
 * content blocks); message_delta gives the finish chunk and the cumulative
 * usage; message_stop the usage chunk (unless stripped) and `[DONE]`. An
 * `error` event is reported by failure() and passed on as an OpenAI error
 * event; a first event that is not JSON, or a stream that ends before
 * message_stop, likewise. pings, thinking and unknown events are dropped.
 */
export function chatStream(ctx: CallContext, options: StreamOptions): StreamTranslator {
  const splitter = createSseSplitter(MAX_PENDING);
  let id = completionId(undefined);
  let model = ctx.target.upstreamModel;
  const created = Math.floor(Date.now() / 1000);
  let seen = false;
  let roleSent = false;
  let finished = false;
  let done = false;
  let failure: TranslatedError | undefined;
  /** The latest value of each usage field: message_delta counts are cumulative. */
  const counts: AnthropicUsage = {};
  let hasUsage = false;
  /** Anthropic content-block index → OpenAI tool-call index. */
  const tools = new Map<number, number>();
  /** A tool_use block's `input` given whole at its start, sent at its stop when no fragment came. */
  const startInputs = new Map<number, string>();

  const chunk = (delta: Json, finish: string | null = null): string =>
    `data: ${JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;

  /** Output for the client, after the role chunk when it has not gone out yet. */
  function emit(text: string): string {
    if (roleSent) return text;
    roleSent = true;
    return chunk({ role: "assistant", content: "" }) + text;
  }

  function fail(error: TranslatedError): string {
    failure = error;
    return emit(`data: ${error.body}\n\n`);
  }

  function addUsage(u: unknown): void {
    if (!isObject(u)) return;
    hasUsage = true;
    for (const key of [
      "input_tokens",
      "output_tokens",
      "cache_creation_input_tokens",
      "cache_read_input_tokens",
    ] as const) {
      if (u[key] !== undefined && u[key] !== null) counts[key] = u[key];
    }
  }

  const usage = (): Usage | undefined => (hasUsage ? usageOf(counts) : undefined);

  const toolDelta = (index: number, call: Json) => chunk({ tool_calls: [{ index, ...call }] });

  function blockStart(index: number, block: Json): string {
    if (block.type === "text" && typeof block.text === "string" && block.text !== "") {
      return emit(chunk({ content: block.text }));
    }
    if (block.type !== "tool_use") return EMPTY;
    const toolIndex = tools.size;
    tools.set(index, toolIndex);
    if (isObject(block.input) && Object.keys(block.input).length > 0) {
      startInputs.set(index, JSON.stringify(block.input));
    }
    const name = typeof block.name === "string" ? block.name : "";
    const callId = typeof block.id === "string" ? block.id : "";
    return emit(toolDelta(toolIndex, { id: callId, type: "function", function: { name, arguments: "" } }));
  }

  function blockDelta(index: number, delta: Json): string {
    if (delta.type === "text_delta" && typeof delta.text === "string" && delta.text !== "") {
      return emit(chunk({ content: delta.text }));
    }
    const toolIndex = tools.get(index);
    if (delta.type !== "input_json_delta" || toolIndex === undefined) return EMPTY;
    startInputs.delete(index);
    const fragment = delta.partial_json;
    if (typeof fragment !== "string" || fragment === "") return EMPTY;
    return emit(toolDelta(toolIndex, { function: { arguments: fragment } }));
  }

  function finish(reason: string): string {
    if (finished) return EMPTY;
    finished = true;
    return emit(chunk({}, reason));
  }

  /** One parsed event → client output. */
  function onEvent(type: unknown, event: Json): string {
    const index = typeof event.index === "number" ? event.index : -1;
    switch (type) {
      case "message_start": {
        const message = isObject(event.message) ? event.message : {};
        id = completionId(message.id);
        if (typeof message.model === "string" && message.model !== "") model = message.model;
        addUsage(message.usage);
        return EMPTY;
      }
      case "content_block_start":
        return isObject(event.content_block) ? blockStart(index, event.content_block) : EMPTY;
      case "content_block_delta":
        return isObject(event.delta) ? blockDelta(index, event.delta) : EMPTY;
      case "content_block_stop": {
        const input = startInputs.get(index);
        const toolIndex = tools.get(index);
        startInputs.delete(index);
        if (input === undefined || toolIndex === undefined) return EMPTY;
        return emit(toolDelta(toolIndex, { function: { arguments: input } }));
      }
      case "message_delta": {
        addUsage(event.usage);
        const reason = finishReason(isObject(event.delta) ? event.delta.stop_reason : undefined);
        return reason === null ? EMPTY : finish(reason);
      }
      case "message_stop": {
        done = true;
        let out = finish("stop");
        const u = usage();
        if (u && !options.stripUsage) {
          out += emit(
            `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: openaiUsage(u) })}\n\n`,
          );
        }
        return out + emit(DONE_EVENT);
      }
      case "error":
        return fail(streamError(event.error));
      default:
        return EMPTY;
    }
  }

  /** One complete SSE event → client output. */
  function handle(raw: string): string {
    if (done || failure) return EMPTY;
    const { name, data } = parseEvent(raw);
    if (data === "") return EMPTY;
    const first = !seen;
    seen = true;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      // A first event that is not JSON means the reply is broken; later ones are skipped.
      return first ? fail(MALFORMED_STREAM) : EMPTY;
    }
    if (!isObject(parsed)) return first ? fail(MALFORMED_STREAM) : EMPTY;
    // An error body without Anthropic's envelope (a proxy, Vertex AI) is an error event too.
    const type = parsed.type ?? (isObject(parsed.error) ? "error" : name);
    return onEvent(type, parsed);
  }

  function process(events: readonly string[]): string {
    let out = "";
    for (const event of events) out += handle(event);
    return out;
  }

  return {
    transform(input) {
      const events = splitter.push(input);
      if (events === undefined) return failure || done ? EMPTY : fail(MALFORMED_STREAM);
      return process(events);
    },
    end() {
      // An unterminated last event is read as if it had its blank line.
      const rest = splitter.rest();
      let out = rest === "" ? EMPTY : process([rest]);
      // A stream with no event at all stays empty: the engine reports it as a malformed reply.
      if (!done && !failure && seen) out += fail(TRUNCATED);
      return out;
    },
    usage,
    failure: () => failure,
  };
}
