/**
 * Response writers for the mock provider: JSON replies, OpenAI errors, chat
 * completions (plain and SSE) and embeddings.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  ChunkFrames,
  chatCompletionJson,
  chatUsage,
  DONE_FRAME,
  embeddingInputs,
  embeddingsJson,
  errorJson,
  type Usage,
} from "./openai-shapes.js";
import type { Plan } from "./plan.js";

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

export function chat(res: ServerResponse, body: Record<string, unknown>, plan: Plan, id: string): void {
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
  const usage = chatUsage(messages, plan.chunkCount);
  if (body.stream !== true) {
    sendJson(res, 200, chatCompletionJson(id, created, model, plan.chunkCount, usage));
    return;
  }
  const includeUsage = (body.stream_options as { include_usage?: unknown } | null)?.include_usage === true;
  stream(res, new ChunkFrames(id, created, model), plan, includeUsage ? usage : undefined);
}

/**
 * Role chunk and first content chunk go out together, then one content chunk
 * per `chunkIntervalMs`; the finish, usage and [DONE] frames follow the last
 * content chunk. With `failAfterChunks` the socket is destroyed after that
 * many content chunks, leaving the chunked response unterminated, or, with
 * `errorFrame`, that frame ends the response (no [DONE]).
 */
export function stream(res: ServerResponse, frames: ChunkFrames, plan: Plan, usage: Usage | undefined) {
  const { chunkCount, chunkIntervalMs, failAfterChunks, errorFrame } = plan;
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  res.writeHead(200, SSE_HEADERS);
  res.once("close", () => clearTimeout(timer));
  const pump = (): void => {
    timer = undefined;
    let out = index === 0 ? frames.role() : "";
    for (;;) {
      if (index === failAfterChunks) {
        if (errorFrame !== undefined) res.end(out + errorFrame);
        else if (out === "") res.socket?.destroy();
        else res.write(out, () => res.socket?.destroy());
        return;
      }
      if (index === chunkCount) {
        out += frames.finish();
        if (usage !== undefined) out += frames.usage(usage);
        res.end(out + DONE_FRAME);
        return;
      }
      out += frames.content(index++);
      if (chunkIntervalMs > 0 && index < chunkCount) break;
    }
    res.write(out);
    timer = setTimeout(pump, chunkIntervalMs);
  };
  pump();
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
