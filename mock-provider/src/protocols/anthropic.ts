/**
 * Anthropic's Messages API served by the mock under `/anthropic`
 * (`POST /anthropic/v1/messages`, so a credential's base URL is
 * `<origin>/anthropic/v1`): `x-api-key` auth, the `anthropic-version` header,
 * errors in Anthropic's shape, the mock's reply as a message or as the full
 * SSE event sequence. `serveAnthropicMessages` is the part after
 * authentication, for protocols that carry the same body (Claude on Vertex AI).
 */
import type { ServerResponse } from "node:http";
import { type MockReply, mockReply } from "../content.js";
import type { CompiledFault } from "../fault-table.js";
import { later, SSE_HEADERS, sendJson } from "../handlers.js";
import { bearerToken } from "../plan.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const ERROR_TYPES: Readonly<Record<number, string>> = {
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error",
};

/** Anthropic's error type for an HTTP status (docs.claude.com/en/api/errors). */
export function anthropicErrorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/** `{"type":"error","error":{"type","message"},"request_id"}`. */
export function anthropicErrorJson(
  status: number,
  message: string,
  type = anthropicErrorType(status),
): string {
  return JSON.stringify({ type: "error", error: { type, message }, request_id: "req_mock" });
}

const sendError = (res: ServerResponse, status: number, message: string, extra?: Record<string, string>) =>
  sendJson(res, status, anthropicErrorJson(status, message), extra);

/** One SSE event the way Anthropic frames it: an `event:` name and the same `type` in the data. */
const event = (type: string, data: Json = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** Characters of the text in a content value: a string, or text / tool_result blocks. */
function chars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const block of content) {
    if (!isObject(block)) continue;
    if (typeof block.text === "string") n += block.text.length;
    else if (block.type === "tool_result") n += chars(block.content);
  }
  return n;
}

/** The mock's reply to a Messages body (prompt characters, tools offered, whether a tool result came last). */
function replyTo(body: Json, chunkCount: number, seq: number): MockReply {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let promptChars = chars(body.system);
  for (const m of messages) if (isObject(m)) promptChars += chars(m.content);
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const names = tools.flatMap((t) => (isObject(t) && typeof t.name === "string" ? [t.name] : []));
  const last = messages.at(-1);
  const lastIsToolResult =
    isObject(last) &&
    last.role === "user" &&
    Array.isArray(last.content) &&
    last.content.some((b) => isObject(b) && b.type === "tool_result");
  return mockReply(promptChars, names, lastIsToolResult, chunkCount, seq);
}

const usage = (reply: MockReply, output: number) => ({
  input_tokens: reply.promptTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: output,
});

/** The reply as Anthropic's blocks: one text block (none for an empty reply) or tool_use blocks. */
function contentOf(reply: MockReply): Json[] {
  if (reply.toolCalls.length > 0) {
    return reply.toolCalls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: c.arguments }));
  }
  return reply.text === "" ? [] : [{ type: "text", text: reply.text }];
}

const stopReason = (reply: MockReply) => (reply.finish === "tool_calls" ? "tool_use" : "end_turn");

function messageJson(id: string, model: string, reply: MockReply): string {
  return JSON.stringify({
    id,
    type: "message",
    role: "assistant",
    model,
    content: contentOf(reply),
    stop_reason: stopReason(reply),
    stop_sequence: null,
    usage: usage(reply, reply.completionTokens),
  });
}

/** A reply's SSE events: `head` (message_start, ping), one entry per content delta, `tail` (message_delta, message_stop). */
interface StreamParts {
  head: string;
  /** A content delta, after its block's start (first delta) and before its stop (last delta). */
  deltas: string[];
  tail: string;
}

function streamEvents(id: string, model: string, reply: MockReply): StreamParts {
  const message = { id, type: "message", role: "assistant", model, content: [], stop_reason: null };
  const head =
    event("message_start", { message: { ...message, stop_sequence: null, usage: usage(reply, 1) } }) +
    event("ping");
  const blocks: Array<{ start: Json; pieces: Json[] }> = reply.toolCalls.map((c) => {
    const json = JSON.stringify(c.arguments);
    const half = Math.ceil(json.length / 2);
    const pieces = ["", json.slice(0, half), json.slice(half)];
    return {
      start: { type: "tool_use", id: c.id, name: c.name, input: {} },
      pieces: pieces.map((p) => ({ type: "input_json_delta", partial_json: p })),
    };
  });
  if (blocks.length === 0 && reply.pieces.length > 0) {
    const pieces = reply.pieces.map((p) => ({ type: "text_delta", text: p }));
    blocks.push({ start: { type: "text", text: "" }, pieces });
  }
  const deltas: string[] = [];
  blocks.forEach(({ start, pieces }, index) => {
    pieces.forEach((delta, i) => {
      let out = i === 0 ? event("content_block_start", { index, content_block: start }) : "";
      out += event("content_block_delta", { index, delta });
      if (i === pieces.length - 1) out += event("content_block_stop", { index });
      deltas.push(out);
    });
  });
  const tail =
    event("message_delta", {
      delta: { stop_reason: stopReason(reply), stop_sequence: null },
      usage: { output_tokens: reply.completionTokens },
    }) + event("message_stop");
  return { head, deltas, tail };
}

/** Writes the stream: head and first delta at once, then one delta per interval; a stream fault cuts it short. */
function stream(res: ServerResponse, parts: StreamParts, intervalMs: number, fault?: CompiledFault) {
  const { head, deltas, tail } = parts;
  const failAt = fault?.afterChunks ?? -1;
  const streamError = fault?.rule.streamError;
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  res.writeHead(200, SSE_HEADERS);
  res.once("close", () => clearTimeout(timer));
  const pump = (): void => {
    let out = index === 0 ? head : "";
    for (;;) {
      if (index === failAt || (failAt > deltas.length && index === deltas.length)) {
        if (streamError) {
          const error = {
            type: streamError.type ?? "overloaded_error",
            message: streamError.message ?? "mock stream error",
          };
          res.end(out + event("error", { error }));
        } else res.write(out, () => res.socket?.destroy());
        return;
      }
      if (index === deltas.length) {
        res.end(out + tail);
        return;
      }
      out += deltas[index++];
      if (intervalMs > 0 && index < deltas.length) break;
    }
    res.write(out);
    timer = setTimeout(pump, intervalMs);
  };
  pump();
}

/** A fault rule's outcome in Anthropic's terms; false when the request should be answered normally. */
function sendFault(request: NativeRequest, streaming: boolean, fault: CompiledFault): boolean {
  const { req, res } = request;
  const outcome = fault.outcome;
  if (outcome === undefined) return false;
  if (outcome.kind === "status") {
    const { rule } = fault;
    if (rule.body !== undefined) {
      res.writeHead(outcome.status, outcome.headers);
      res.end(outcome.body);
      return true;
    }
    const extra: Record<string, string> = {};
    if (rule.retryAfter !== undefined) extra["retry-after"] = rule.retryAfter;
    if (rule.retryAfterMs !== undefined) extra["retry-after-ms"] = String(rule.retryAfterMs);
    const message = rule.message ?? `mock error ${outcome.status}`;
    sendJson(res, outcome.status, anthropicErrorJson(outcome.status, message, rule.errorType), extra);
  } else if (outcome.kind === "reset") {
    if (outcome.when === "before-headers") req.socket.destroy();
    else {
      res.writeHead(200, streaming ? SSE_HEADERS : { "content-type": "application/json" });
      res.write(
        streaming ? "" : '{"id":"msg_mock_reset","type":"message","content":[{"type":"text","text":"tok0',
        () => res.socket?.destroy(),
      );
    }
  } else if (outcome.what === "sse") {
    res.writeHead(200, SSE_HEADERS);
    res.end(
      `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_mock_malformed"\n\n${event("message_stop")}`,
    );
  } else if (outcome.what === "json") {
    sendJson(
      res,
      200,
      '{"id":"msg_mock_malformed","type":"message","role":"assistant","content":[{"type":"text","text":"tok0',
    );
  } else {
    res.writeHead(200, streaming ? SSE_HEADERS : { "content-type": "application/json", "content-length": 0 });
    res.end();
  }
  return true;
}

/** Why a Messages body cannot be answered (in Anthropic's words); undefined when it can. */
function invalid(body: Json | undefined): string | undefined {
  if (body === undefined) return "The request body is not valid JSON.";
  if (!Array.isArray(body.messages)) return "messages: Field required";
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required";
  return undefined;
}

/**
 * Everything after authentication for a Messages body (`model` may be absent,
 * as on Vertex AI, where it travels in the URL): counts the request, applies
 * fault rules (status, latency, resets, malformed replies, stream errors as
 * Anthropic `error` events), then answers with the mock's reply.
 */
export function serveAnthropicMessages(
  request: NativeRequest,
  env: MockEnv,
  key: string,
  model: string,
  parsed?: Json,
): void {
  const { res } = request;
  const body = parsed ?? parse(request);
  const streaming = body?.stream === true;
  env.stats.count(key, model);
  const fault = env.faults.rules.length !== 0 ? env.faults.take(key, model, streaming, "chat") : undefined;
  later(res, fault?.latencyMs ?? env.config.latencyMs, () => {
    if (fault && sendFault(request, streaming, fault)) return;
    const problem = invalid(body);
    if (problem !== undefined || !body) {
      sendError(res, 400, problem ?? "");
      return;
    }
    const seq = env.nextSeq();
    const reply = replyTo(body, fault?.chunks ?? env.config.chunkCount, seq);
    const id = `msg_mock_${seq}`;
    if (streaming) {
      stream(
        res,
        streamEvents(id, model, reply),
        fault?.chunkIntervalMs ?? env.config.chunkIntervalMs,
        fault,
      );
    } else {
      sendJson(res, 200, messageJson(id, model, reply), { "request-id": `req_mock_${seq}` });
    }
  });
}

/** The body of a request as a JSON object; undefined when it is not one. */
function parse(request: NativeRequest): Json | undefined {
  try {
    const value: unknown = JSON.parse(request.body.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with a request before it is served: [status, message]; undefined when nothing is. */
function reject(request: NativeRequest, env: MockEnv, key: string, body: Json | undefined) {
  const { req, path } = request;
  if (path !== "/v1/messages") return [404, `Not found: ${path}`] as const;
  if (req.method !== "POST") return [405, `Method ${req.method ?? ""} not allowed`] as const;
  if (env.config.apiKeys.size !== 0 && !env.config.apiKeys.has(key))
    return [401, "invalid x-api-key"] as const;
  if (!req.headers["anthropic-version"]) {
    return [400, "anthropic-version: header is required"] as const;
  }
  if (body === undefined) return [400, "The request body is not valid JSON."] as const;
  if (typeof body.model !== "string" || body.model === "") return [400, "model: Field required"] as const;
  return undefined;
}

function handle(request: NativeRequest, env: MockEnv): void {
  // The key travels in x-api-key; newer official SDKs send it as a bearer token instead.
  const { headers } = request.req;
  const apiKey = headers["x-api-key"];
  const key = typeof apiKey === "string" ? apiKey : (bearerToken(headers.authorization) ?? "");
  const body = parse(request);
  const problem = reject(request, env, key, body);
  if (problem) sendError(request.res, problem[0], problem[1]);
  else if (body) serveAnthropicMessages(request, env, key, body.model as string, body);
}

/** Anthropic's Messages API under `/anthropic`. */
export const anthropicProtocol: NativeProtocol = { prefix: "/anthropic", handle };
