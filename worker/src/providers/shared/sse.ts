import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import type { TranslatedError } from "../types.js";

/**
 * Server-sent-event framing shared by the stream translators of every
 * SSE-speaking wire format: splitting bytes into whole events across chunk
 * edges, reading an event's name and data, and the failures every translator
 * reports the same way.
 */

const LF = 10;
const CR = 13;

/** The OpenAI stream terminator every translator emits at the end. */
export const DONE_EVENT = "data: [DONE]\n\n";

/** A first event that is not JSON: the reply is broken (the engine may fail over). */
export const MALFORMED_STREAM: TranslatedError = {
  status: 502,
  body: errorBody(
    "api_error",
    "the provider sent a stream event that is not JSON",
    "upstream_malformed_response",
  ),
  errorClass: ErrorClass.MALFORMED_RESPONSE,
};

/** A stream that ended before its format's final event. */
export function truncatedStream(what: string): TranslatedError {
  return {
    status: 502,
    body: errorBody("api_error", `the provider ended the stream before ${what}`, "upstream_error"),
    errorClass: ErrorClass.UNAVAILABLE,
  };
}

/** Offset just past the last complete event (a blank line, LF or CRLF framing) in `buf`; 0 when none. */
export function afterLastBoundary(buf: Buffer): number {
  const n = buf.length;
  // The common case: the chunk ends exactly at an event boundary.
  if (n >= 2 && buf[n - 1] === LF && buf[n - 2] === LF) return n;
  for (let i = n - 1; i > 0; i--) {
    if (buf[i] !== LF) continue;
    if (buf[i - 1] === LF) return i + 1;
    if (i > 1 && buf[i - 1] === CR && buf[i - 2] === LF) return i + 1;
  }
  return 0;
}

/** The `event:` name and the joined `data:` lines of one SSE event ("" data for comments). */
export function parseEvent(event: string): { name: string; data: string } {
  let name = "";
  let data = "";
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith("data:")) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data ? `${data}\n${value}` : value;
    } else if (line.startsWith("event:")) {
      name = line.slice(line.charCodeAt(6) === 32 ? 7 : 6).trim();
    }
  }
  return { name, data };
}

/**
 * The data of the first event in `text` (whole events) that has any, without splitting the text:
 * a stream's first bytes are checked on every request, so this walks lines in place. Undefined
 * when no event in `text` carries data.
 */
export function firstEventData(text: string): string | undefined {
  let data = "";
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf("\n", at);
    if (nl === -1) nl = text.length;
    const end = nl > at && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (end === at) {
      if (data !== "") return data;
    } else if (text.startsWith("data:", at)) {
      const value = text.slice(at + (text.charCodeAt(at + 5) === 32 ? 6 : 5), end);
      data = data === "" ? value : `${data}\n${value}`;
    }
    at = nl + 1;
  }
  return data === "" ? undefined : data;
}

/** The joined `data:` lines of one SSE event; "" for comments and empty events. */
export function eventData(event: string): string {
  return parseEvent(event).data;
}

/** Splits raw SSE bytes into whole events, holding an incomplete one between chunks. */
export interface SseSplitter {
  /** The events these bytes complete (raw text, without the blank line); undefined when an unterminated event outgrew the limit. */
  push(chunk: Buffer): string[] | undefined;
  /** The unterminated rest when the stream ends ("" when none). */
  rest(): string;
}

export function createSseSplitter(maxPending: number): SseSplitter {
  let pending: Buffer | undefined;
  return {
    push(chunk) {
      const data = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      const end = afterLastBoundary(data);
      if (end < data.length) {
        if (data.length - end > maxPending) return undefined;
        pending = Buffer.from(data.subarray(end));
      }
      if (end === 0) return [];
      return data
        .subarray(0, end)
        .toString("utf8")
        .split(/\r?\n\r?\n/)
        .filter((e) => e !== "");
    },
    rest() {
      const rest = pending ? pending.toString("utf8") : "";
      pending = undefined;
      return rest;
    },
  };
}
