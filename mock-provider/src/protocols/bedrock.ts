/**
 * AWS Bedrock Runtime served by the mock under `/bedrock` (a credential's
 * base URL is `<mock origin>/bedrock`):
 *
 * - `POST /model/{modelId}/converse`: Converse JSON;
 * - `POST /model/{modelId}/converse-stream`: ConverseStream as binary
 *   event-stream frames (`application/vnd.amazon.eventstream`), paced by `chunkIntervalMs`;
 * - `POST /model/{modelId}/invoke`: Titan and Cohere embeddings.
 *
 * Every request is authenticated as Bedrock does: a SigV4 signature checked
 * against the `awsKeys` option (bedrock-sigv4.ts), or `Authorization: Bearer`
 * with one of `apiKeys` (Bedrock API keys). With neither option set nothing
 * is checked. Refusals are 403 in Bedrock's error shape: `{"message"}` and
 * the exception in `x-amzn-errortype`. Counters count by access key id (or
 * API key) and the path's model id; fault rules match the same key, model,
 * stream (`converse-stream`) and route (`invoke` is "embeddings").
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CompiledFault } from "../fault-table.js";
import { later } from "../handlers.js";
import { bearerToken, HeaderError, overridesFaults, type Plan, planRequest } from "../plan.js";
import {
  converseFrames,
  converseJson,
  converseReply,
  corruptFrame,
  EVENT_STREAM_TYPE,
  invokeReply,
  sendStream,
} from "./bedrock-replies.js";
import { parseAuthorization, verifySigV4 } from "./bedrock-sigv4.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

/** Bedrock's exception name for an error status (the `x-amzn-errortype` header). */
export function exceptionFor(status: number): string {
  const known: Record<number, string> = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
  };
  return known[status] ?? (status >= 500 ? "InternalServerException" : "ValidationException");
}

/** A Bedrock error reply: `{"message"}` with `x-amzn-errortype`. */
export function sendBedrockError(
  res: ServerResponse,
  status: number,
  errorType: string,
  message: string,
  extra: Record<string, string | number> = {},
  rawBody?: string,
): void {
  if (res.headersSent || res.destroyed) return;
  const body = rawBody ?? JSON.stringify({ message });
  res.writeHead(status, {
    ...extra,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
  res.end(body);
}

const OPERATION = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/;

/** The caller's key (access key id or API key), or the refusal already sent (undefined). */
function authenticate(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  env: MockEnv,
): string | undefined {
  const header = req.headers.authorization ?? "";
  const { apiKeys, awsSecret } = env.config;
  const bearer = bearerToken(header);
  if (apiKeys.size === 0 && awsSecret === undefined) {
    return bearer ?? parseAuthorization(header)?.accessKeyId ?? "";
  }
  if (bearer !== undefined) {
    if (apiKeys.has(bearer)) return bearer;
    sendBedrockError(
      res,
      403,
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
    );
    return undefined;
  }
  if (header === "") {
    sendBedrockError(res, 403, "MissingAuthenticationTokenException", "Missing Authentication Token");
    return undefined;
  }
  const verdict = verifySigV4(
    req.method ?? "POST",
    req.url ?? "/",
    req.headers,
    body,
    awsSecret ?? (() => undefined),
  );
  if (verdict.ok) return verdict.accessKeyId;
  sendBedrockError(res, 403, verdict.errorType, verdict.message);
  return undefined;
}

/** A fault rule's outcome in Bedrock's shapes. */
function sendFaultReply(
  req: IncomingMessage,
  res: ServerResponse,
  fault: CompiledFault,
  stream: boolean,
): void {
  const outcome = fault.outcome;
  const rule = fault.rule;
  if (!outcome || res.headersSent) return;
  if (outcome.kind === "status") {
    const extra: Record<string, string | number> = {};
    if (rule.retryAfter !== undefined) extra["retry-after"] = rule.retryAfter;
    if (rule.retryAfterMs !== undefined) extra["retry-after-ms"] = String(rule.retryAfterMs);
    const type = rule.errorType ?? exceptionFor(outcome.status);
    sendBedrockError(
      res,
      outcome.status,
      type,
      rule.message ?? `mock error ${outcome.status}`,
      extra,
      rule.body,
    );
  } else if (outcome.kind === "reset") {
    if (outcome.when === "before-headers") {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { "content-type": stream ? EVENT_STREAM_TYPE : "application/json" });
    if (stream) {
      res.flushHeaders();
      // An empty socket write calls back once the headers before it are flushed.
      res.socket?.write("", () => res.socket?.destroy());
    } else res.write('{"output":{"message":', () => res.socket?.destroy());
  } else if (outcome.what === "sse" || (outcome.what === "json" && stream)) {
    res.writeHead(200, { "content-type": EVENT_STREAM_TYPE });
    res.end(corruptFrame());
  } else if (outcome.what === "json") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"output":{"message":{"role":"assistant","content":[{"text":"tok0');
  } else {
    res.writeHead(200, {
      "content-type": stream ? EVENT_STREAM_TYPE : "application/json",
      "content-length": 0,
    });
    res.end();
  }
}

function answer(
  request: NativeRequest,
  env: MockEnv,
  plan: Plan,
  fault: CompiledFault | undefined,
  model: string,
  operation: string,
  body: Record<string, unknown>,
): void {
  const { res } = request;
  const seq = env.nextSeq();
  const meta = { "x-amzn-requestid": `mock-request-${seq}` };
  if (operation === "invoke") {
    const reply = invokeReply(model, body, seq);
    if (typeof reply === "string") {
      sendBedrockError(res, 400, "ValidationException", reply);
      return;
    }
    res.writeHead(200, {
      ...meta,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(reply.json),
      "x-amzn-bedrock-input-token-count": reply.tokens,
    });
    res.end(reply.json);
    return;
  }
  const reply = converseReply(body, plan.chunkCount, seq);
  if (typeof reply === "string") {
    sendBedrockError(res, 400, "ValidationException", reply);
    return;
  }
  if (operation === "converse") {
    const json = converseJson(reply);
    res.writeHead(200, {
      ...meta,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(json),
    });
    res.end(json);
    return;
  }
  const streamError = fault?.rule.streamError;
  sendStream(res, converseFrames(reply, seq), {
    chunkIntervalMs: plan.chunkIntervalMs,
    failAfter: plan.failAfterChunks,
    exception: streamError
      ? {
          type: streamError.code ?? "modelStreamErrorException",
          message: streamError.message ?? "mock stream error",
        }
      : undefined,
  });
}

function handle(request: NativeRequest, env: MockEnv): void {
  const { req, res, path } = request;
  const m = OPERATION.exec(path);
  if (!m || req.method !== "POST") {
    sendBedrockError(res, 404, "UnknownOperationException", `No operation ${req.method ?? ""} ${path}`);
    return;
  }
  const key = authenticate(req, res, request.body, env);
  if (key === undefined) return;
  let model: string;
  try {
    model = decodeURIComponent(m[1] as string);
  } catch {
    sendBedrockError(res, 400, "ValidationException", "The model identifier is not correctly encoded.");
    return;
  }
  const operation = m[2] as string;
  const stream = operation === "converse-stream";
  env.stats.count(key, model);
  const route = operation === "invoke" ? "embeddings" : "chat";
  const fault =
    env.faults.rules.length !== 0 && !overridesFaults(req.headers)
      ? env.faults.take(key, model, stream, route)
      : undefined;
  let plan: Plan;
  try {
    plan = planRequest(req.headers, env.config, 0, fault);
  } catch (error) {
    if (!(error instanceof HeaderError)) throw error;
    sendBedrockError(res, 400, "ValidationException", error.message);
    return;
  }
  later(res, plan.latencyMs, () => {
    if (plan.errorStatus !== undefined) {
      sendBedrockError(
        res,
        plan.errorStatus,
        exceptionFor(plan.errorStatus),
        `mock error ${plan.errorStatus}`,
      );
      return;
    }
    if (fault?.outcome) {
      sendFaultReply(req, res, fault, stream);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString("utf8"));
    } catch {
      body = undefined;
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      sendBedrockError(res, 400, "ValidationException", "The request body must be a JSON object.");
    } else if (plan.failAfterChunks >= 0 && !stream) {
      req.socket.destroy();
    } else {
      answer(request, env, plan, fault, model, operation, body as Record<string, unknown>);
    }
  });
}

/** The Bedrock Runtime protocol of the mock. */
export const bedrockProtocol: NativeProtocol = { prefix: "/bedrock", handle };
