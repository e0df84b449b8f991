import { classifyError } from "../shared/classify.js";
import { afterLastBoundary, DONE_EVENT, eventData, firstEventData, MALFORMED_STREAM } from "../shared/sse.js";
import type { StreamOptions, StreamTranslator, TranslatedError, Usage } from "../types.js";
import { usageFrom } from "./response.js";

const EVENT_BOUNDARY = /\r?\n\r?\n/g;
const MARK = Buffer.from('"usage"');
/** An `"error"` key: inside JSON strings quotes are escaped, so this only matches a key. */
const ERROR_MARK = Buffer.from('"error"');
const NULL = Buffer.from("null");
const EMPTY = Buffer.alloc(0);
const DONE_TAIL = /data: ?\[DONE\]\r?\n\r?\n$/;

/** Whether the last bytes passed on end with the [DONE] event. */
function endsWithDone(last: Buffer | string): boolean {
  const tail =
    typeof last === "string"
      ? last.slice(-24)
      : last.subarray(Math.max(0, last.length - 24)).toString("latin1");
  return DONE_TAIL.test(tail);
}
/** An event longer than this is passed on unparsed rather than held. */
const MAX_PENDING = 1 << 20;

/**
 * Whether some `"usage"` key in `buf` has a value other than null. Inside
 * JSON strings quotes are escaped, so the marker only matches a key; with
 * include_usage every content chunk carries `"usage":null`, which this skips
 * without decoding.
 */
function hasUsageValue(buf: Buffer): boolean {
  let at = buf.indexOf(MARK);
  while (at !== -1) {
    let i = at + MARK.length;
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x3a || buf[i] === 0x09)) i++;
    if (i + NULL.length > buf.length || buf.compare(NULL, 0, NULL.length, i, i + NULL.length) !== 0) {
      return true;
    }
    at = buf.indexOf(MARK, i);
  }
  return false;
}

/** An OpenAI-style error event inside a stream (`data: {"error":{...}}`), as the engine classifies it. */
function streamError(parsed: { error?: unknown }): TranslatedError | undefined {
  const e = parsed.error;
  if (typeof e !== "object" || e === null) return undefined;
  const { code, type } = e as { code?: unknown; type?: unknown };
  return {
    status: 502,
    body: JSON.stringify({ error: e }),
    errorClass: classifyError(500, code, type),
  };
}

/**
 * OpenAI SSE passes through unchanged, event by event: an incomplete event
 * is held until its end arrives (a client cannot use half an event), so the
 * gateway can drop whole events. Events are decoded only when a `"usage"`
 * key with a value or an `"error"` key appears (the last event of a stream,
 * or a failure); other chunks cost a few byte searches and are returned
 * without a copy.
 */
export function chatStream(options: StreamOptions): StreamTranslator {
  let usage: Usage | undefined;
  let failure: TranslatedError | undefined;
  let pending: Buffer | undefined;
  /** The last bytes passed on, to see whether the stream ended with [DONE]. */
  let last: Buffer | string = EMPTY;
  /** Whether the first data event was checked to be JSON (a reply that is not fails over). */
  let checked = false;

  /** A first event that is not JSON is a broken reply ([DONE] and comments pass). */
  function checkFirst(complete: Buffer): void {
    const data = firstEventData(complete.toString("utf8"));
    if (data === undefined) return;
    checked = true;
    if (data === "[DONE]") return;
    try {
      JSON.parse(data);
    } catch {
      failure ??= MALFORMED_STREAM;
    }
  }

  /** Reads usage and errors of complete events; drops the usage-only event when asked to. */
  function processEvents(complete: Buffer): Buffer | string {
    const text = complete.toString("utf8");
    let kept = "";
    let removed = false;
    let start = 0;
    EVENT_BOUNDARY.lastIndex = 0;
    for (let m = EVENT_BOUNDARY.exec(text); m !== null; m = EVENT_BOUNDARY.exec(text)) {
      const end = m.index + m[0].length;
      const event = text.slice(start, m.index);
      let drop = false;
      if (event.includes('"usage"') || event.includes('"error"')) {
        const data = eventData(event);
        try {
          const parsed = JSON.parse(data) as {
            usage?: unknown;
            choices?: unknown;
            error?: unknown;
          };
          // Groq reports stream usage under x_groq.usage on the finish chunk.
          const u =
            usageFrom(parsed.usage) ?? usageFrom((parsed as { x_groq?: { usage?: unknown } }).x_groq?.usage);
          if (u) {
            usage = u;
            drop = options.stripUsage && Array.isArray(parsed.choices) && parsed.choices.length === 0;
          }
          failure ??= streamError(parsed);
        } catch {
          // Not JSON: checkFirst reports a first event that is not; later ones pass on.
        }
      }
      if (drop) removed = true;
      else kept += text.slice(start, end);
      start = end;
    }
    return removed ? kept : complete;
  }

  return {
    transform(chunk) {
      let data = chunk;
      if (pending) {
        data = Buffer.concat([pending, chunk]);
        pending = undefined;
      }
      const end = afterLastBoundary(data);
      if (end < data.length) {
        if (data.length - end > MAX_PENDING) return data; // a runaway event: pass it on unparsed
        pending = data.subarray(end);
        if (end === 0) return EMPTY;
        data = data.subarray(0, end);
      }
      if (!checked) checkFirst(data);
      const out = hasUsageValue(data) || data.includes(ERROR_MARK) ? processEvents(data) : data;
      if (out.length > 0) last = out;
      return out;
    },
    end() {
      const rest = pending ?? EMPTY;
      pending = undefined;
      // Some upstreams close without [DONE]; clients wait for it. Not after an error event.
      // (A stream with no event at all stays empty: the engine treats it as a malformed reply.)
      if (!failure && rest.length === 0 && last.length > 0 && !endsWithDone(last)) return DONE_EVENT;
      return rest;
    },
    usage: () => usage,
    failure: () => failure,
  };
}
