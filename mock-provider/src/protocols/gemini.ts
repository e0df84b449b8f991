/**
 * Google's Gemini API (AI Studio) as the mock serves it under "/gemini": a
 * credential's base URL is `<origin>/gemini/v1beta`. Requests authenticate
 * with `x-goog-api-key` (or `?key=`); replies, streams and errors are in
 * Gemini's own shapes. `serveGemini` is shared with the Vertex AI protocol,
 * whose publisher-google routes take the same bodies.
 */
import type { ServerResponse } from "node:http";
import { type MockReply, mockReply } from "../content.js";
import type { CompiledFault } from "../fault-table.js";
import type { FaultRoute } from "../faults.js";
import { later, SSE_HEADERS, sendJson } from "../handlers.js";
import { embeddingVector, tokensForChars } from "../openai-shapes.js";
import { HeaderError, overridesFaults, type Plan, planRequest } from "../plan.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

type Json = Record<string, unknown>;

const RPC_STATUS: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "NOT_IMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** Google's RPC error body for an HTTP status: `{"error":{"code","message","status"}}`. */
export function googleErrorJson(status: number, message: string, details?: unknown[]): string {
  const rpc = RPC_STATUS[status] ?? (status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
  return JSON.stringify({ error: { code: status, message, status: rpc, ...(details ? { details } : {}) } });
}

/** Answers with Google's RPC error body. */
export function sendGoogleError(
  res: ServerResponse,
  status: number,
  message: string,
  extra?: Record<string, string>,
) {
  sendJson(res, status, googleErrorJson(status, message), extra);
}

/** Gemini's SSE framing (CRLF, as Google sends it). */
const frame = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`;

/** A fault rule's reply in Google's shapes; true when it answered (the request is handled). */
function sendFault(req: NativeRequest, fault: CompiledFault, stream: boolean): boolean {
  const { rule, outcome } = fault;
  const { res } = req;
  if (outcome === undefined) return false;
  if (outcome.kind === "status") {
    const headers: Record<string, string> = {};
    if (rule.retryAfter !== undefined) headers["retry-after"] = rule.retryAfter;
    if (rule.retryAfterMs !== undefined) headers["retry-after-ms"] = String(rule.retryAfterMs);
    const body = rule.body ?? googleErrorJson(outcome.status, rule.message ?? `mock error ${outcome.status}`);
    sendJson(res, outcome.status, body, headers);
  } else if (outcome.kind === "reset") {
    if (outcome.when === "before-headers") req.req.socket.destroy();
    else {
      res.writeHead(200, stream ? SSE_HEADERS : { "content-type": "application/json" });
      res.write(stream ? "" : '{"candidates":[{"content":{"parts":[{"text":"tok0', () =>
        res.socket?.destroy(),
      );
    }
  } else if (outcome.what === "json") sendJson(res, 200, '{"candidates":[{"content":{"parts":[{"text":"tok0');
  else if (outcome.what === "sse") {
    res.writeHead(200, SSE_HEADERS);
    res.end('data: {"candidates":[{"content":{"parts":[{"text":"tok0"\r\n\r\n');
  } else {
    res.writeHead(200, stream ? SSE_HEADERS : { "content-type": "application/json", "content-length": 0 });
    res.end();
  }
  return true;
}

/** Characters of text in `systemInstruction` and `contents`, the tools offered, and whether the last turn answers a call. */
function conversation(body: Json) {
  let chars = 0;
  const countParts = (parts: unknown) => {
    if (!Array.isArray(parts)) return [];
    for (const p of parts as Json[]) if (typeof p?.text === "string") chars += p.text.length;
    return parts as Json[];
  };
  countParts((body.systemInstruction as Json | undefined)?.parts);
  const contents = Array.isArray(body.contents) ? (body.contents as Json[]) : [];
  let lastIsToolResult = false;
  for (const c of contents)
    lastIsToolResult = countParts(c?.parts).some((p) => p?.functionResponse !== undefined);
  const tools: string[] = [];
  for (const t of Array.isArray(body.tools) ? (body.tools as Json[]) : []) {
    for (const d of Array.isArray(t?.functionDeclarations) ? (t.functionDeclarations as Json[]) : []) {
      if (typeof d?.name === "string") tools.push(d.name);
    }
  }
  return { chars, tools, lastIsToolResult };
}

/** One GenerateContentResponse: `parts`, and when `last` the finish reason and full usage. */
function responseOf(reply: MockReply, parts: Json[], last: boolean, model: string, id: string): Json {
  const candidate: Json = { content: { parts, role: "model" }, index: 0 };
  if (last) candidate.finishReason = "STOP";
  const completion = last ? reply.completionTokens : 0;
  return {
    candidates: [candidate],
    usageMetadata: {
      promptTokenCount: reply.promptTokens,
      ...(last ? { candidatesTokenCount: completion } : {}),
      totalTokenCount: reply.promptTokens + completion,
    },
    modelVersion: model,
    responseId: id,
  };
}

const callParts = (reply: MockReply): Json[] =>
  reply.toolCalls.map((c) => ({ functionCall: { name: c.name, args: c.arguments } }));

/** Streams the reply: a chunk per piece (paced), the last with finishReason and usage; faults mid-stream. */
function stream(
  req: NativeRequest,
  reply: MockReply,
  plan: Plan,
  fault: CompiledFault | undefined,
  model: string,
  id: string,
) {
  const { res } = req;
  const chunks: Json[][] =
    reply.toolCalls.length > 0 ? [callParts(reply)] : reply.pieces.map((text) => [{ text }]);
  if (chunks.length === 0) chunks.push([{ text: "" }]);
  const streamError = fault?.rule.streamError;
  if (req.query.get("alt") !== "sse") {
    const all = chunks.map((parts, i) => responseOf(reply, parts, i === chunks.length - 1, model, id));
    sendJson(res, 200, JSON.stringify(all));
    return;
  }
  res.writeHead(200, SSE_HEADERS);
  // A reply shorter than the fault's afterChunks fails after its last content, before the finish.
  const failAt = plan.failAfterChunks < 0 ? -1 : Math.min(plan.failAfterChunks, chunks.length);
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  res.once("close", () => clearTimeout(timer));
  const pump = () => {
    if (index === failAt) {
      if (streamError === undefined) res.socket?.destroy();
      else {
        // The rule's `code` may name an RPC status (e.g. RESOURCE_EXHAUSTED); INTERNAL otherwise.
        const named = Object.entries(RPC_STATUS).find(([, rpc]) => rpc === streamError.code)?.[0];
        const error = googleErrorJson(Number(named ?? 500), streamError.message ?? "mock stream error");
        res.end(`data: ${error}\r\n\r\n`);
      }
      return;
    }
    const parts = chunks[index] as Json[];
    const last = ++index === chunks.length && failAt !== chunks.length;
    const out = frame(responseOf(reply, parts, last, model, id));
    if (last) res.end(out);
    else {
      res.write(out);
      timer = setTimeout(pump, plan.chunkIntervalMs);
    }
  };
  pump();
}

/** The texts of `batchEmbedContents` / `embedContent` / Vertex `:predict` bodies; undefined when malformed. */
function embeddingTexts(action: string, body: Json): string[] | undefined {
  const text = (content: unknown) => {
    const parts = (content as Json | undefined)?.parts;
    return Array.isArray(parts)
      ? parts.map((p: Json) => (typeof p?.text === "string" ? p.text : "")).join("")
      : undefined;
  };
  const list = (items: unknown, pick: (item: Json) => unknown) =>
    Array.isArray(items) && items.length > 0 ? items.map((i: Json) => pick(i)) : undefined;
  const texts =
    action === "batchEmbedContents"
      ? list(body.requests, (r) => text(r?.content))
      : action === "embedContent"
        ? [text(body.content)]
        : list(body.instances, (i) => i?.content);
  return texts?.every((t) => typeof t === "string") ? (texts as string[]) : undefined;
}

function embed(res: ServerResponse, action: string, body: Json): void {
  const texts = embeddingTexts(action, body);
  if (!texts) {
    sendGoogleError(res, 400, "Invalid JSON payload received. The embedding request has no text.");
    return;
  }
  const values = texts.map(embeddingVector);
  let out: unknown;
  if (action === "batchEmbedContents") out = { embeddings: values.map((v) => ({ values: v })) };
  else if (action === "embedContent") out = { embedding: { values: values[0] } };
  else {
    const predictions = values.map((v, i) => ({
      embeddings: {
        values: v,
        statistics: { token_count: tokensForChars((texts[i] as string).length), truncated: false },
      },
    }));
    out = { predictions, metadata: { billableCharacterCount: texts.join("").length } };
  }
  sendJson(res, 200, JSON.stringify(out));
}

const ROUTES: Readonly<Record<string, FaultRoute>> = {
  generateContent: "chat",
  streamGenerateContent: "chat",
  batchEmbedContents: "embeddings",
  embedContent: "embeddings",
  predict: "embeddings",
};

/**
 * Serves one authenticated Gemini-format call (`action` after the model's
 * colon): counts it under `key` and `model`, applies fault rules and
 * `x-mock-*` headers, and answers with the mock reply in Gemini's shape.
 */
export function serveGemini(
  req: NativeRequest,
  env: MockEnv,
  key: string,
  model: string,
  action: string,
): void {
  const { res } = req;
  const route = ROUTES[action];
  if (route === undefined) {
    sendGoogleError(res, 404, `Method ${action} is not found for models/${model}.`);
    return;
  }
  const streaming = action === "streamGenerateContent";
  env.stats.count(key, model);
  const fault =
    env.faults.rules.length !== 0 && !overridesFaults(req.req.headers)
      ? env.faults.take(key, model, streaming, route)
      : undefined;
  let plan: Plan;
  try {
    plan = planRequest(req.req.headers, env.config, 0, fault);
  } catch (error) {
    if (!(error instanceof HeaderError)) throw error;
    sendGoogleError(res, 400, error.message);
    return;
  }
  later(res, plan.latencyMs, () => {
    if (plan.errorStatus !== undefined) {
      sendGoogleError(res, plan.errorStatus, `mock error ${plan.errorStatus}`);
      return;
    }
    if (fault && sendFault(req, fault, streaming)) return;
    let body: Json;
    try {
      body = JSON.parse(req.body.toString("utf8")) as Json;
      if (typeof body !== "object" || body === null || Array.isArray(body))
        throw new TypeError("not an object");
    } catch {
      sendGoogleError(res, 400, "Invalid JSON payload received.");
      return;
    }
    if (route === "embeddings") {
      embed(res, action, body);
      return;
    }
    if (!Array.isArray(body.contents) || body.contents.length === 0) {
      sendGoogleError(res, 400, "* GenerateContentRequest.contents: contents is not specified\n");
      return;
    }
    const { chars, tools, lastIsToolResult } = conversation(body);
    const reply = mockReply(chars, tools, lastIsToolResult, plan.chunkCount, env.nextSeq());
    const id = `mock-${env.nextSeq()}`;
    if (streaming) {
      stream(req, reply, plan, fault, model, id);
      return;
    }
    if (plan.failAfterChunks >= 0) {
      req.req.socket.destroy();
      return;
    }
    const parts = reply.toolCalls.length > 0 ? callParts(reply) : [{ text: reply.text }];
    sendJson(res, 200, JSON.stringify(responseOf(reply, parts, true, model, id)));
  });
}

const MODEL_PATH = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):([A-Za-z]+)$/;

/** `/gemini/v1beta/models/{model}:{action}` with an API key in `x-goog-api-key` or `?key=`. */
export const geminiProtocol: NativeProtocol = {
  prefix: "/gemini",
  handle(request, env) {
    const { req, res, path } = request;
    const match = req.method === "POST" ? MODEL_PATH.exec(path) : null;
    if (!match) {
      sendGoogleError(res, 404, `The requested URL ${path} was not found on this server.`);
      return;
    }
    const header = req.headers["x-goog-api-key"];
    const key = (typeof header === "string" ? header : undefined) ?? request.query.get("key") ?? "";
    if (env.config.apiKeys.size !== 0 && !env.config.apiKeys.has(key)) {
      if (key === "") {
        sendGoogleError(
          res,
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      } else {
        const reason = {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "API_KEY_INVALID",
          domain: "googleapis.com",
        };
        sendJson(res, 400, googleErrorJson(400, "API key not valid. Please pass a valid API key.", [reason]));
      }
      return;
    }
    serveGemini(request, env, key, decodeURIComponent(match[1] as string), match[2] as string);
  },
};
