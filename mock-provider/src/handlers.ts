/**
 * Response writers for the mock provider: JSON replies, OpenAI errors, chat
 * completions (plain and SSE, text or a tool call), embeddings, and the
 * pacing and fault replies native protocols share.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { type MockReply, mockReply } from "./content.js";
import type { CompiledFault } from "./fault-table.js";
import type { FaultRoute, FaultRule } from "./faults.js";
import {
  argumentPieces,
  ChunkFrames,
  chatCompletionJson,
  chatUsage,
  DONE_FRAME,
  embeddingInputs,
  embeddingsJson,
  errorJson,
  messageChars,
  toolCallCompletionJson,
  type Usage,
} from "./openai-shapes.js";
import type { Plan } from "./plan.js";
import type { MockEnv } from "./protocols/types.js";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;

const RETRY_AFTER = { "retry-after": "1" };
export const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };

/** The injected failure (`x-mock-status` / `errorRate`): OpenAI error body, `retry-after: 1` on 429. */
export function sendMockError(res: ServerResponse, status: number): void {
  sendJson(res, status, errorJson(status, `mock error ${status}`), status === 429 ? RETRY_AFTER : undefined);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    ...extra,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 413, errorJson(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`), { connection: "close" });
  req.resume();
}

/**
 * Reads a request body of at most MAX_BODY_BYTES as UTF-8 and passes it to
 * `onBody`; a larger one is answered with 413 (after `onTooLarge`) instead.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  onBody: (raw: string) => void,
  onTooLarge?: () => void,
): void {
  const rejectBody = () => {
    onTooLarge?.();
    tooLarge(req, res);
  };
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    rejectBody();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let rejected = false;
  req.on("data", (chunk: Buffer) => {
    if (rejected) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      rejected = true;
      rejectBody();
    } else {
      chunks.push(chunk);
    }
  });
  req.on("end", () => {
    if (!rejected) onBody(Buffer.concat(chunks, size).toString("utf8"));
  });
}

/** Runs `fn` after `ms` (synchronously for 0), cancelled if the client goes away first. */
export function later(res: ServerResponse, ms: number, fn: () => void): void {
  if (ms <= 0) {
    fn();
    return;
  }
  const timer = setTimeout(fn, ms);
  res.once("close", () => clearTimeout(timer));
}

/** Names of the function tools a chat request offers. */
function toolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t) => {
    const name = (t as { function?: { name?: unknown } } | null)?.function?.name;
    return typeof name === "string" ? [name] : [];
  });
}

/** The mock's tool call reply to a request offering tools (undefined: answer with text as usual). */
function toolReply(
  messages: readonly unknown[],
  tools: unknown,
  plan: Plan,
  id: string,
): MockReply | undefined {
  const names = toolNames(tools);
  if (names.length === 0) return undefined;
  const last = messages.at(-1) as { role?: unknown } | undefined;
  // The completion's number (`chatcmpl-mock-<n>`) makes the call id: call_mock_<n>.
  const seq = Number(id.slice(id.lastIndexOf("-") + 1)) || 0;
  const reply = mockReply(messageChars(messages), names, last?.role === "tool", plan.chunkCount, seq);
  return reply.toolCalls.length > 0 ? reply : undefined;
}

/**
 * A chat completion: a tool call when tools are offered and the last message
 * is not a tool result (content.ts `mockReply`), else the canned text.
 * `prelude` is an SSE event sent before the role chunk (Azure's `choices: []`
 * prompt-filter chunk).
 */
export function chat(
  res: ServerResponse,
  body: Record<string, unknown>,
  plan: Plan,
  id: string,
  prelude = "",
): void {
  const { model, messages } = body;
  if (typeof model !== "string" || model === "") {
    sendJson(res, 400, errorJson(400, "you must provide a model parameter", "model"));
    return;
  }
  if (!Array.isArray(messages)) {
    sendJson(res, 400, errorJson(400, "'messages' must be an array", "messages"));
    return;
  }
  const created = Math.floor(Date.now() / 1000);
  const tools = toolReply(messages, body.tools, plan, id);
  const usage = tools
    ? { prompt_tokens: tools.promptTokens, completion_tokens: 5, total_tokens: tools.promptTokens + 5 }
    : chatUsage(messages, plan.chunkCount);
  if (body.stream !== true) {
    const json = tools
      ? toolCallCompletionJson(id, created, model, tools.toolCalls, usage)
      : chatCompletionJson(id, created, model, plan.chunkCount, usage);
    sendJson(res, 200, json);
    return;
  }
  const includeUsage = (body.stream_options as { include_usage?: unknown } | null)?.include_usage === true;
  const frames = new ChunkFrames(id, created, model);
  if (tools) {
    const deltas: string[] = [];
    tools.toolCalls.forEach((call, i) => {
      deltas.push(frames.toolCallStart(i, call));
      for (const piece of argumentPieces(JSON.stringify(call.arguments))) {
        deltas.push(frames.toolCallArguments(i, piece));
      }
    });
    const tail = frames.finish("tool_calls") + (includeUsage ? frames.usage(usage) : "") + DONE_FRAME;
    const parts = {
      head: prelude + frames.role(),
      count: deltas.length,
      delta: (i: number) => deltas[i] ?? "",
    };
    paced(res, { ...parts, tail: () => tail }, plan, SSE_HEADERS);
    return;
  }
  stream(res, frames, plan, includeUsage ? usage : undefined, prelude);
}

/** A reply written piece by piece: `head` with the first delta, then one delta per interval, then `tail`. */
export interface PacedParts {
  head: string;
  count: number;
  delta(index: number): string | Buffer;
  tail(): string | Buffer;
}

/** When a paced reply breaks: after `failAfterChunks` deltas (-1: never), with `errorFrame` or a reset. */
export interface PacedPlan {
  chunkIntervalMs: number;
  failAfterChunks: number;
  errorFrame: string | undefined;
}

/**
 * Writes a paced reply: head and first delta at once, then one delta per
 * `chunkIntervalMs`, then the tail. After `failAfterChunks` deltas (never
 * when the reply has fewer) the response ends with `errorFrame` or, without
 * one, the socket is destroyed, leaving the chunked response unterminated.
 */
export function paced(res: ServerResponse, parts: PacedParts, plan: PacedPlan, headers: OutgoingHttpHeaders) {
  const { count } = parts;
  const { chunkIntervalMs, errorFrame } = plan;
  const failAt = plan.failAfterChunks;
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  res.writeHead(200, headers);
  res.once("close", () => clearTimeout(timer));
  const pump = (): void => {
    timer = undefined;
    const out: Array<string | Buffer> = index === 0 && parts.head !== "" ? [parts.head] : [];
    for (;;) {
      if (index === failAt) {
        if (errorFrame !== undefined) res.end(join(out, errorFrame));
        else if (out.length === 0) res.socket?.destroy();
        else res.write(join(out), () => res.socket?.destroy());
        return;
      }
      if (index === count) {
        res.end(join(out, parts.tail()));
        return;
      }
      out.push(parts.delta(index++));
      if (chunkIntervalMs > 0 && index < count) break;
    }
    res.write(join(out));
    timer = setTimeout(pump, chunkIntervalMs);
  };
  pump();
}

/** Pieces as one string (all strings: the SSE hot path) or one buffer. */
function join(pieces: Array<string | Buffer>, last?: string | Buffer): string | Buffer {
  if (last !== undefined) pieces.push(last);
  if (pieces.every((p) => typeof p === "string")) return pieces.join("");
  return Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
}

/**
 * Role chunk and first content chunk go out together, then one content chunk
 * per `chunkIntervalMs`; the finish, usage and [DONE] frames follow the last
 * content chunk. With `failAfterChunks` the socket is destroyed after that
 * many content chunks, leaving the chunked response unterminated, or, with
 * `errorFrame`, that frame ends the response (no [DONE]).
 */
export function stream(
  res: ServerResponse,
  frames: ChunkFrames,
  plan: Plan,
  usage: Usage | undefined,
  prelude = "",
) {
  const tail = () => frames.finish() + (usage !== undefined ? frames.usage(usage) : "") + DONE_FRAME;
  const parts = {
    head: prelude + frames.role(),
    count: plan.chunkCount,
    delta: (i: number) => frames.content(i),
    tail,
  };
  paced(res, parts, plan, SSE_HEADERS);
}

export function embeddings(res: ServerResponse, body: Record<string, unknown>): void {
  const { model, input, encoding_format: format } = body;
  if (typeof model !== "string" || model === "") {
    sendJson(res, 400, errorJson(400, "you must provide a model parameter", "model"));
    return;
  }
  const inputs = embeddingInputs(input);
  if (inputs === undefined) {
    sendJson(res, 400, errorJson(400, "'input' must be a string or a non-empty array", "input"));
    return;
  }
  if (format !== undefined && format !== "float" && format !== "base64") {
    sendJson(res, 400, errorJson(400, "'encoding_format' must be 'float' or 'base64'", "encoding_format"));
    return;
  }
  sendJson(res, 200, embeddingsJson(model, inputs, format === "base64"));
}

/** The first fault rule matching a native request (its `times` counted down); undefined with no rules. */
export function takeFault(
  env: MockEnv,
  key: string,
  model: string,
  stream: boolean,
  route: FaultRoute,
): CompiledFault | undefined {
  return env.faults.rules.length === 0 ? undefined : env.faults.take(key, model, stream, route);
}

/** The retry headers a status rule sets (`retry-after`, `retry-after-ms`), for any provider's error shape. */
export function retryHeaders(rule: FaultRule): Record<string, string> {
  const out: Record<string, string> = {};
  if (rule.retryAfter !== undefined) out["retry-after"] = rule.retryAfter;
  if (rule.retryAfterMs !== undefined) out["retry-after-ms"] = String(rule.retryAfterMs);
  return out;
}

/** A native stream's break point: after the rule's `afterChunks` deltas (at the last when fewer), else never. */
export function failAfter(fault: CompiledFault | undefined, count: number): number {
  return fault === undefined || fault.afterChunks < 0 ? -1 : Math.min(fault.afterChunks, count);
}
