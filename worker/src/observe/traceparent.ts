import { type Context, isSpanContextValid, ROOT_CONTEXT, type SpanContext, trace } from "@opentelemetry/api";

// version-traceid-parentid-flags, lower-case hex; later versions may append fields after a dash.
const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(-.*)?$/;
const MAX_LENGTH = 512;

/**
 * The caller's span context from a W3C `traceparent` header
 * (https://www.w3.org/TR/trace-context/#traceparent-header), or undefined
 * when the header is missing or malformed (the request then starts a new
 * trace). Parsed here rather than through a global propagator, so the worker
 * registers nothing global.
 */
export function parseTraceparent(header: string | undefined): SpanContext | undefined {
  if (header === undefined || header.length > MAX_LENGTH) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) {
    return undefined;
  }
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  const context: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & 0xff,
    isRemote: true,
  };
  return isSpanContextValid(context) ? context : undefined;
}

/** The parent context for a request's server span: the caller's trace when it sent one, else the root. */
export function parentContext(header: string | undefined): Context {
  const remote = parseTraceparent(header);
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
}
