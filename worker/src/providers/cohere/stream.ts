import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { isObject, type Json, openaiUsage } from "../shared/json.js";
import {
  createSseSplitter,
  DONE_EVENT,
  eventData,
  MALFORMED_STREAM,
  truncatedStream,
} from "../shared/sse.js";
import type { CallContext, StreamOptions, StreamTranslator, TranslatedError, Usage } from "../types.js";
import { classifyStreamError, translated } from "./errors.js";
import { FAILED_FINISH, finishReason, usageOf } from "./response.js";

/** An event longer than this without its end is not a Cohere event: the stream is treated as broken. */
const MAX_PENDING = 1 << 20;
const TRUNCATED = truncatedStream("its message-end event");

/** `delta.message.<key>` of a Cohere stream event. */
function deltaMessage(event: Json, key: string): Json {
  const delta = isObject(event.delta) ? event.delta : {};
  const message = isObject(delta.message) ? delta.message : {};
  const value = message[key];
  // tool_calls is one object in stream events; accept a one-item list too.
  const item = Array.isArray(value) ? value[0] : value;
  return isObject(item) ? item : {};
}

/** The error a message-end or an error event reports, as the client sees it (status 502 if not yet committed). */
function streamFailure(message: string, errorClass?: ErrorClass): TranslatedError {
  return translated(502, message, errorClass ?? classifyStreamError(message));
}

/**
 * Cohere v2 chat SSE (named events: message-start, content-*, tool-call-*,
 * message-end) → OpenAI chat.completion.chunk events. The role chunk goes out
 * with the first content, tool call or ending (so an error right after
 * message-start can still fail over); tool calls are numbered 0, 1, … in the
 * order they start; message-end gives the finish chunk and, when the client
 * asked for it, the usage chunk; `data: [DONE]` closes the stream. An error
 * (a message-end carrying `error` or finishing with ERROR/TIMEOUT, an error
 * event, a stream cut before message-end) becomes one OpenAI error event and
 * failure(); a first event that is not JSON is a malformed reply.
 */
export function chatStream(ctx: CallContext, options: StreamOptions): StreamTranslator {
  const splitter = createSseSplitter(MAX_PENDING);
  const model = ctx.target.upstreamModel;
  const created = Math.floor(Date.now() / 1000);
  let id = "";
  let started = false;
  let ended = false;
  let rolePending = true;
  let usage: Usage | undefined;
  let failure: TranslatedError | undefined;
  let calledTools = false;
  /** Cohere's tool-call index → OpenAI's (calls in order of their start). */
  const toolIndex = new Map<unknown, number>();
  let lastTool = -1;

  const chunk = (delta: Json, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;

  /** A delta chunk, after the role chunk if it has not gone out yet. */
  function emit(delta: Json, finish: string | null = null): string {
    let out = "";
    if (rolePending) {
      rolePending = false;
      out = chunk({ role: "assistant", content: "" });
    }
    return out + chunk(delta, finish);
  }

  function fail(error: TranslatedError): string {
    failure = error;
    ended = true;
    return `data: ${error.body}\n\n`;
  }

  function toolCallStart(event: Json): string {
    const call = deltaMessage(event, "tool_calls");
    const fn = isObject(call.function) ? call.function : {};
    const index = toolIndex.size;
    toolIndex.set(event.index ?? index, index);
    lastTool = index;
    calledTools = true;
    const head = {
      index,
      id: call.id ?? "",
      type: "function",
      function: { name: fn.name ?? "", arguments: "" },
    };
    let out = emit({ tool_calls: [head] });
    if (typeof fn.arguments === "string" && fn.arguments !== "") {
      out += chunk({ tool_calls: [{ index, function: { arguments: fn.arguments } }] });
    }
    return out;
  }

  function messageEnd(event: Json): string {
    const delta = isObject(event.delta) ? event.delta : {};
    usage = usageOf(delta.usage) ?? usage;
    const reason = delta.finish_reason;
    const failed = typeof reason === "string" ? FAILED_FINISH.get(reason) : undefined;
    if (delta.error !== undefined && delta.error !== null) {
      const message = typeof delta.error === "string" ? delta.error : JSON.stringify(delta.error);
      return fail(streamFailure(message, failed === ErrorClass.TIMEOUT ? failed : undefined));
    }
    if (failed !== undefined)
      return fail(streamFailure(`the provider ended the reply with ${reason}`, failed));
    let out = emit({}, finishReason(reason, calledTools));
    if (!options.stripUsage && usage) {
      out += `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: openaiUsage(usage) })}\n\n`;
    }
    ended = true;
    return out;
  }

  function onEvent(data: string): string {
    if (data === "" || ended) return "";
    const first = !started;
    started = true;
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return first && data !== "[DONE]" ? fail(MALFORMED_STREAM) : "";
    }
    if (!isObject(event)) return first ? fail(MALFORMED_STREAM) : "";
    switch (event.type) {
      case "message-start":
        if (typeof event.id === "string") id = event.id;
        return "";
      case "content-start":
      case "content-delta": {
        const text = deltaMessage(event, "content").text;
        return typeof text === "string" && text !== "" ? emit({ content: text }) : "";
      }
      case "tool-call-start":
        return toolCallStart(event);
      case "tool-call-delta": {
        const fn = deltaMessage(event, "tool_calls").function;
        const args = isObject(fn) ? fn.arguments : undefined;
        const index = toolIndex.get(event.index) ?? lastTool;
        if (typeof args !== "string" || args === "" || index < 0) return "";
        return emit({ tool_calls: [{ index, function: { arguments: args } }] });
      }
      case "message-end":
        return messageEnd(event);
      case undefined:
      case "error": {
        // Cohere's error body (`{"message"}`) inside a stream.
        const message = typeof event.message === "string" ? event.message : undefined;
        return message === undefined ? "" : fail(streamFailure(message));
      }
      default:
        // content-end, tool-plan-delta (no OpenAI slot), tool-call-end, citations, debug.
        return "";
    }
  }

  /** Translates complete events. */
  function onEvents(events: readonly string[]): string {
    let out = "";
    for (const event of events) out += onEvent(eventData(event));
    return out;
  }

  return {
    transform(bytes) {
      if (ended) return "";
      const events = splitter.push(bytes);
      if (events === undefined) return fail(started ? TRUNCATED : MALFORMED_STREAM);
      return onEvents(events);
    },
    end() {
      if (ended) return failure ? "" : DONE_EVENT;
      // A last event without its blank line still counts.
      const rest = splitter.rest();
      const out = rest.trim() === "" ? "" : onEvents([rest]);
      if (failure) return out;
      if (ended) return out + DONE_EVENT;
      // No event at all: the engine treats an empty stream as a malformed reply.
      return started ? out + fail(TRUNCATED) : out;
    },
    usage: () => usage,
    failure: () => failure,
  };
}
