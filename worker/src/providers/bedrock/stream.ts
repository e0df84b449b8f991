import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import { isObject, openaiUsage } from "../shared/json.js";
import type { CallContext, StreamOptions, StreamTranslator, TranslatedError, Usage } from "../types.js";
import { streamException } from "./errors.js";
import { createEventStreamDecoder, type EventStreamMessage } from "./event-stream.js";
import { completionId, finishReason, usageFrom } from "./response.js";

/**
 * ConverseStream (binary event-stream frames) → OpenAI SSE chunks:
 *
 * - messageStart → the role chunk;
 * - contentBlockStart with a toolUse → the first tool-call delta (id, name,
 *   `arguments: ""`), its OpenAI index counting tool calls only (Bedrock's
 *   contentBlockIndex counts text blocks too);
 * - contentBlockDelta → a content delta (text) or an arguments fragment (toolUse.input);
 * - messageStop → the finish chunk; metadata → the usage (its chunk only when
 *   the client asked for it, after the finish chunk); `data: [DONE]` at the end.
 *
 * Exception frames (`:message-type` exception or error) become the stream's
 * failure and an OpenAI error event, and nothing follows. A frame that cannot
 * be decoded (CRC, length, header, payload not JSON) is a malformed reply.
 */

const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
const DONE = "data: [DONE]\n\n";

/** A broken frame or payload: the engine fails over when it is the first one. */
function malformed(what: string): TranslatedError {
  return {
    status: 502,
    body: errorBody("api_error", `the provider sent ${what}`, "upstream_malformed_response"),
    errorClass: ErrorClass.MALFORMED_RESPONSE,
  };
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The stream translator of one ConverseStream call. */
export function chatStream(ctx: CallContext, options: StreamOptions): StreamTranslator {
  const decoder = createEventStreamDecoder();
  const model = ctx.target.upstreamModel;
  const created = Math.floor(Date.now() / 1000);
  let id = "";
  let usage: Usage | undefined;
  let failure: TranslatedError | undefined;
  /** Whether a chunk went to the client (the role chunk comes first). */
  let started = false;
  let finished = false;
  let usageSent = false;
  /** OpenAI tool-call index by Bedrock contentBlockIndex. */
  const tools = new Map<number, number>();

  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    sse({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });

  /** The role chunk, once, before any other chunk; the id is a digest of the first event's payload. */
  const start = (seed: Buffer): string => {
    if (started) return "";
    started = true;
    id = completionId(seed);
    return chunk({ role: "assistant", content: "" });
  };

  const usageChunk = (): string => {
    if (usageSent || !usage || options.stripUsage) return "";
    usageSent = true;
    return sse({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [],
      usage: openaiUsage(usage),
    });
  };

  /** The client's error event for a failure; nothing follows it. */
  const fail = (f: TranslatedError): string => {
    failure = f;
    return `data: ${f.body}\n\n`;
  };

  function onEvent(type: string, payload: Record<string, unknown>, raw: Buffer): string {
    switch (type) {
      case "messageStart":
        return start(raw);
      case "contentBlockStart": {
        const use = isObject(payload.start) ? payload.start.toolUse : undefined;
        if (!isObject(use)) return "";
        const index = tools.size;
        tools.set(Number(payload.contentBlockIndex ?? 0), index);
        const call = {
          index,
          id: str(use.toolUseId) ?? "",
          type: "function",
          function: { name: str(use.name) ?? "", arguments: "" },
        };
        return start(raw) + chunk({ tool_calls: [call] });
      }
      case "contentBlockDelta": {
        const delta = isObject(payload.delta) ? payload.delta : {};
        const text = str(delta.text);
        if (text !== undefined) return text === "" ? "" : start(raw) + chunk({ content: text });
        const input = isObject(delta.toolUse) ? str(delta.toolUse.input) : undefined;
        const index = tools.get(Number(payload.contentBlockIndex ?? 0));
        if (input === undefined || input === "" || index === undefined) return "";
        return start(raw) + chunk({ tool_calls: [{ index, function: { arguments: input } }] });
      }
      case "messageStop":
        finished = true;
        return start(raw) + chunk({}, finishReason(payload.stopReason)) + usageChunk();
      case "metadata":
        usage = usageFrom(payload.usage) ?? usage;
        return finished ? usageChunk() : "";
      default:
        return "";
    }
  }

  function onMessage(message: EventStreamMessage): string {
    const h = message.headers;
    const kind = str(h[":message-type"]) ?? "event";
    if (kind === "error") {
      const name = str(h[":error-code"]) ?? "InternalServerException";
      return fail(streamException(name, str(h[":error-message"]) ?? "the provider reported an error"));
    }
    let payload: unknown;
    try {
      payload = message.payload.length === 0 ? {} : JSON.parse(message.payload.toString("utf8"));
    } catch {
      return fail(malformed("a stream event that is not JSON"));
    }
    if (!isObject(payload)) return fail(malformed("a stream event that is not a JSON object"));
    if (kind === "exception") {
      const name = str(h[":exception-type"]) ?? "internalServerException";
      const text = str(payload.message) ?? str(payload.Message) ?? "the provider reported an error";
      return fail(streamException(name, text));
    }
    return onEvent(str(h[":event-type"]) ?? "", payload, message.payload);
  }

  return {
    transform(bytes) {
      if (failure) return "";
      let messages: EventStreamMessage[];
      try {
        messages = decoder.push(bytes);
      } catch {
        return fail(malformed("an event-stream frame that cannot be decoded"));
      }
      let out = "";
      for (const m of messages) {
        out += onMessage(m);
        if (failure) break;
      }
      return out;
    },
    end() {
      if (failure) return "";
      if (decoder.pendingBytes() > 0) return fail(malformed("an event-stream that ends inside a frame"));
      // A stream without any event stays empty: the engine takes it for a malformed reply.
      if (!started) return "";
      return usageChunk() + DONE;
    },
    usage: () => usage,
    failure: () => failure,
  };
}
