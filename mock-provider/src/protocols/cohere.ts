/**
 * Cohere's v2 API as the mock serves it under "/cohere" (a credential's base
 * URL is `<origin>/cohere/v2`): `POST /v2/chat` (JSON, or named SSE events
 * with `"stream": true`) and `POST /v2/embed`, `Authorization: Bearer <key>`,
 * errors as `{"id","message"}`.
 */
import type { ServerResponse } from "node:http";
import { type MockReply, mockReply } from "../content.js";
import type { CompiledFault } from "../fault-table.js";
import { failAfter, later, paced, retryHeaders, SSE_HEADERS, sendJson, takeFault } from "../handlers.js";
import { argumentPieces, embeddingVector, tokensForChars, vectorBase64 } from "../openai-shapes.js";
import { bearerToken } from "../plan.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Cohere's embed v2 limit on texts per call. */
export const MAX_EMBED_TEXTS = 96;

/** Cohere's error body. */
export const cohereErrorJson = (message: string) => JSON.stringify({ id: "mock-error", message });

const sendError = (res: ServerResponse, status: number, message: string, extra?: Record<string, string>) =>
  sendJson(res, status, cohereErrorJson(message), extra);

/** One SSE event as Cohere frames it: an `event:` name and the same `type` in the data. */
const event = (type: string, data: Json = {}) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** Characters of the text in Cohere content: a string, or text (and document) items. */
function chars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const item of content) if (isObject(item) && typeof item.text === "string") n += item.text.length;
  return n;
}

/** The mock's reply to a chat body: a tool call when tools are offered and no tool result came last. */
function replyTo(body: Json, chunkCount: number, seq: number): MockReply {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const promptChars = messages.reduce((n, m) => n + chars(m.content), 0);
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
  const names = tools.flatMap((t) =>
    isObject(t.function) && typeof t.function.name === "string" ? [t.function.name] : [],
  );
  return mockReply(promptChars, names, messages.at(-1)?.role === "tool", chunkCount, seq);
}

const usage = (r: MockReply) => ({
  billed_units: { input_tokens: r.promptTokens, output_tokens: r.completionTokens },
  tokens: { input_tokens: r.promptTokens, output_tokens: r.completionTokens },
});

const finishReason = (r: MockReply) => (r.finish === "tool_calls" ? "TOOL_CALL" : "COMPLETE");

const toolCalls = (r: MockReply) =>
  r.toolCalls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: JSON.stringify(c.arguments) },
  }));

const TOOL_PLAN = "I will call the tool.";

function chatJson(id: string, r: MockReply): string {
  const message: Json = { role: "assistant" };
  if (r.toolCalls.length > 0) {
    message.tool_plan = TOOL_PLAN;
    message.tool_calls = toolCalls(r);
  } else message.content = r.text === "" ? [] : [{ type: "text", text: r.text }];
  return JSON.stringify({ id, finish_reason: finishReason(r), message, usage: usage(r) });
}

/** The stream of a reply: message-start (and the first block's start), one event per delta, message-end. */
function streamParts(id: string, r: MockReply): { head: string; deltas: string[]; tail: string } {
  const start = { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] };
  let head = event("message-start", { id, delta: { message: start } });
  const deltas: string[] = [];
  let tail = "";
  if (r.toolCalls.length > 0) {
    head += event("tool-plan-delta", { delta: { message: { tool_plan: TOOL_PLAN } } });
    r.toolCalls.forEach((c, index) => {
      const call = { id: c.id, type: "function", function: { name: c.name, arguments: "" } };
      deltas.push(event("tool-call-start", { index, delta: { message: { tool_calls: call } } }));
      for (const arguments_ of argumentPieces(JSON.stringify(c.arguments))) {
        const delta = { message: { tool_calls: { function: { arguments: arguments_ } } } };
        deltas.push(event("tool-call-delta", { index, delta }));
      }
      deltas[deltas.length - 1] += event("tool-call-end", { index });
    });
  } else {
    head += event("content-start", {
      index: 0,
      delta: { message: { content: { type: "text", text: "" } } },
    });
    for (const text of r.pieces) {
      deltas.push(event("content-delta", { index: 0, delta: { message: { content: { text } } } }));
    }
    tail = event("content-end", { index: 0 });
  }
  tail += event("message-end", { id, delta: { finish_reason: finishReason(r), usage: usage(r) } });
  return { head, deltas, tail };
}

/** A fault rule's outcome in Cohere's terms; false when the request is answered normally. */
function sendFault(request: NativeRequest, streaming: boolean, fault: CompiledFault): boolean {
  const { req, res } = request;
  const { outcome, rule } = fault;
  if (outcome === undefined) return false;
  const partial = '{"id":"c-mock-malformed","finish_reason":"COMPLETE","message":{"content":[{"text":"tok0';
  if (outcome.kind === "status") {
    if (rule.body !== undefined) {
      res.writeHead(outcome.status, outcome.headers);
      res.end(outcome.body);
    } else {
      sendError(res, outcome.status, rule.message ?? `mock error ${outcome.status}`, retryHeaders(rule));
    }
  } else if (outcome.kind === "reset") {
    if (outcome.when === "before-headers") req.socket.destroy();
    else {
      res.writeHead(200, streaming ? SSE_HEADERS : { "content-type": "application/json" });
      res.flushHeaders();
      res.write(streaming ? "" : partial, () => res.socket?.destroy());
    }
  } else if (outcome.what === "sse") {
    res.writeHead(200, SSE_HEADERS);
    res.end(`event: message-start\ndata: {"type":"message-start","id":"c-mock-malformed"\n\n`);
  } else if (outcome.what === "json") {
    sendJson(res, 200, partial);
  } else {
    res.writeHead(200, streaming ? SSE_HEADERS : { "content-type": "application/json", "content-length": 0 });
    res.end();
  }
  return true;
}

function chat(request: NativeRequest, env: MockEnv, key: string, body: Json, model: string): void {
  const { res } = request;
  const streaming = body.stream === true;
  env.stats.count(key, model);
  const fault = takeFault(env, key, model, streaming, "chat");
  later(res, fault?.latencyMs ?? env.config.latencyMs, () => {
    if (fault && sendFault(request, streaming, fault)) return;
    if (!Array.isArray(body.messages)) {
      sendError(res, 400, "invalid request: messages must be a list");
      return;
    }
    const seq = env.nextSeq();
    const reply = replyTo(body, fault?.chunks ?? env.config.chunkCount, seq);
    const id = `c-mock-${seq}`;
    if (!streaming) {
      sendJson(res, 200, chatJson(id, reply));
      return;
    }
    const { head, deltas, tail } = streamParts(id, reply);
    const streamError = fault?.rule.streamError;
    const errorFrame =
      streamError === undefined
        ? undefined
        : event("message-end", {
            id,
            delta: { finish_reason: "ERROR", error: streamError.message ?? "mock stream error" },
          });
    paced(
      res,
      { head, count: deltas.length, delta: (i) => deltas[i] ?? "", tail: () => tail },
      {
        chunkIntervalMs: fault?.chunkIntervalMs ?? env.config.chunkIntervalMs,
        failAfterChunks: failAfter(fault, deltas.length),
        errorFrame,
      },
      SSE_HEADERS,
    );
  });
}

const EMBEDDING_TYPES = new Set(["float", "base64"]);

function embed(request: NativeRequest, env: MockEnv, key: string, body: Json, model: string): void {
  const { res } = request;
  env.stats.count(key, model);
  const fault = takeFault(env, key, model, false, "embeddings");
  later(res, fault?.latencyMs ?? env.config.latencyMs, () => {
    if (fault && sendFault(request, false, fault)) return;
    const { texts, input_type: inputType } = body;
    const types = Array.isArray(body.embedding_types) ? body.embedding_types : ["float"];
    let problem: string | undefined;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === "string")) {
      problem = "invalid request: texts must be a non-empty list of strings";
    } else if (texts.length > MAX_EMBED_TEXTS) {
      problem = `invalid request: texts must contain at most ${MAX_EMBED_TEXTS} items`;
    } else if (typeof inputType !== "string") {
      problem = "invalid request: input_type is required for embed models v3 and higher";
    } else if (!types.every((t) => typeof t === "string" && EMBEDDING_TYPES.has(t))) {
      problem = "invalid request: the mock serves embedding_types float and base64";
    }
    if (problem !== undefined) {
      sendError(res, 400, problem);
      return;
    }
    const list = texts as string[];
    const vectors = list.map((t) => embeddingVector(t));
    const embeddings: Json = {};
    if (types.includes("float")) embeddings.float = vectors;
    if (types.includes("base64")) embeddings.base64 = vectors.map(vectorBase64);
    const tokens = tokensForChars(list.reduce((n, t) => n + t.length, 0));
    sendJson(
      res,
      200,
      JSON.stringify({
        id: `e-mock-${env.nextSeq()}`,
        response_type: "embeddings_by_type",
        embeddings,
        texts: list,
        meta: { api_version: { version: "2" }, billed_units: { input_tokens: tokens } },
      }),
    );
  });
}

const ROUTES: Readonly<Record<string, typeof chat>> = { "/v2/chat": chat, "/v2/embed": embed };

type Checked = { body: Json; model: string } | { status: number; message: string };

/** The request body as a JSON object, or what is wrong with the request. */
function check(request: NativeRequest, env: MockEnv, key: string): Checked {
  const reject = (status: number, message: string) => ({ status, message });
  const { req, path } = request;
  if (ROUTES[path] === undefined) return reject(404, `Not Found: ${path}`);
  if (req.method !== "POST") return reject(405, `Method ${req.method ?? ""} not allowed`);
  if (env.config.apiKeys.size !== 0 && !env.config.apiKeys.has(key)) return reject(401, "invalid api token");
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString("utf8"));
  } catch {
    body = undefined;
  }
  if (!isObject(body)) return reject(400, "invalid request: the body must be a JSON object");
  if (typeof body.model !== "string" || body.model === "") {
    return reject(400, "invalid request: model must be a non-empty string");
  }
  return { body, model: body.model };
}

function handle(request: NativeRequest, env: MockEnv): void {
  const key = bearerToken(request.req.headers.authorization) ?? "";
  const checked = check(request, env, key);
  const route = ROUTES[request.path];
  if ("status" in checked) sendError(request.res, checked.status, checked.message);
  else route?.(request, env, key, checked.body, checked.model);
}

/** Cohere's v2 chat and embed API under `/cohere`. */
export const cohereProtocol: NativeProtocol = { prefix: "/cohere", handle };
