/**
 * Azure OpenAI as the mock serves it under "/azure" (a credential's base URL
 * is `<origin>/azure`, or `<origin>/azure/openai/v1` for the v1 API):
 *
 * - `POST /openai/deployments/{deployment}/chat/completions|embeddings|audio/speech?api-version=…`
 *   (without `api-version`: 404 in Azure's shape); the deployment is the model;
 * - `POST /openai/v1/chat/completions|embeddings|audio/speech` (no api-version; `model` in the body).
 *
 * Authentication: `api-key: <key>`, or `Authorization: Bearer <token>` where
 * the token is an accepted key (the v1 API with the OpenAI SDK) or a JWT
 * (`eyJ…`, three base64url parts) whose payload's `oid` is an accepted key
 * (the signature is not checked). With no keys configured, anything passes.
 * Replies are the OpenAI mock's (tool calls included) with the deployment as
 * the model; streams start with Azure's `choices: []` prompt-filter chunk.
 */
import type { ServerResponse } from "node:http";
import { sendFault } from "../fault-replies.js";
import type { CompiledFault } from "../fault-table.js";
import { chat, embeddings, later, retryHeaders, sendJson, takeFault } from "../handlers.js";
import { bearerToken, HeaderError, type Plan, planRequest } from "../plan.js";
import { serveOpenAISpeech } from "./elevenlabs.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Azure's error body: `{"error":{"code","message"}}` with the code a string (often the status). */
export function azureErrorJson(status: number, message: string, code = String(status)): string {
  return JSON.stringify({ error: { code, message } });
}

const sendError = (res: ServerResponse, status: number, message: string, code?: string) =>
  sendJson(res, status, azureErrorJson(status, message, code));

const SAFE = { filtered: false, severity: "safe" };
const FILTERS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };

/** Azure's first stream chunk: no choices, the prompt's content-filter results, empty id and model. */
export const PROMPT_FILTER_CHUNK = `data: ${JSON.stringify({
  choices: [],
  created: 0,
  id: "",
  model: "",
  object: "",
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTERS }],
})}\n\n`;

const DEPLOYMENT = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings|audio\/speech)$/;
const V1 = /^\/openai\/v1\/(chat\/completions|embeddings|audio\/speech)$/;

type Operation = "chat/completions" | "embeddings" | "audio/speech";

/** The JWT payload's `oid` (an Entra object id), if `token` is a well-formed JWT. */
function jwtSubject(token: string): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !token.startsWith("eyJ") || !/^[\w-]*$/.test(parts.join(""))) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"));
    return isObject(payload) && typeof payload.oid === "string" ? payload.oid : undefined;
  } catch {
    return undefined;
  }
}

/** A path segment decoded (kept as sent when its escapes are malformed). */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The caller's key (for counters and faults) when its credentials are accepted, else undefined. */
function authenticate(request: NativeRequest, env: MockEnv): string | undefined {
  const { headers } = request.req;
  const keys = env.config.apiKeys;
  const apiKey = headers["api-key"];
  if (typeof apiKey === "string") return keys.size === 0 || keys.has(apiKey) ? apiKey : undefined;
  const token = bearerToken(headers.authorization);
  if (token === undefined) return keys.size === 0 ? "" : undefined;
  if (keys.size === 0 || keys.has(token)) return token;
  const oid = jwtSubject(token);
  return oid !== undefined && keys.has(oid) ? oid : undefined;
}

/** A fault rule's status in Azure's shape (code = the rule's errorCode or the status); other outcomes as OpenAI's. */
function sendAzureFault(
  request: NativeRequest,
  route: "chat" | "embeddings",
  stream: boolean,
  fault: CompiledFault,
) {
  const { req, res } = request;
  const { outcome, rule } = fault;
  if (outcome?.kind === "status" && rule.body === undefined) {
    const message = rule.message ?? `mock error ${outcome.status}`;
    const body = azureErrorJson(outcome.status, message, rule.errorCode ?? String(outcome.status));
    sendJson(res, outcome.status, body, retryHeaders(rule));
  } else if (outcome !== undefined) sendFault(req, res, route, stream, outcome);
}

/** Chat completions and embeddings for a model (the deployment): counts, faults, then the OpenAI reply. */
function serve(request: NativeRequest, env: MockEnv, key: string, op: Operation, body: Json, model: string) {
  const { req, res } = request;
  const route = op === "embeddings" ? "embeddings" : "chat";
  const stream = route === "chat" && body.stream === true;
  env.stats.count(key, model);
  const fault = takeFault(env, key, model, stream, route);
  let plan: Plan;
  try {
    plan = planRequest(req.headers, env.config, 0, fault);
  } catch (error) {
    if (!(error instanceof HeaderError)) throw error;
    sendError(res, 400, error.message, "invalid_header");
    return;
  }
  later(res, plan.latencyMs, () => {
    if (plan.errorStatus !== undefined) sendError(res, plan.errorStatus, `mock error ${plan.errorStatus}`);
    else if (fault?.outcome !== undefined) sendAzureFault(request, route, stream, fault);
    else if (plan.failAfterChunks >= 0 && !stream) req.socket.destroy();
    else if (route === "embeddings") embeddings(res, { ...body, model });
    else
      chat(
        res,
        { ...body, model },
        plan,
        `chatcmpl-mock-${env.nextSeq()}`,
        stream ? PROMPT_FILTER_CHUNK : "",
      );
  });
}

function handle(request: NativeRequest, env: MockEnv): void {
  const { req, res, path, query } = request;
  const deployment = DEPLOYMENT.exec(path);
  const v1 = deployment ? null : V1.exec(path);
  if ((!deployment && !v1) || (deployment && !query.get("api-version"))) {
    sendError(res, 404, "Resource not found");
    return;
  }
  if (req.method !== "POST") {
    sendError(res, 405, `Method ${req.method ?? ""} not allowed`);
    return;
  }
  const key = authenticate(request, env);
  if (key === undefined) {
    sendError(res, 401, "Access denied due to invalid subscription key or wrong API endpoint.");
    return;
  }
  const op = ((deployment ?? v1)?.at(-1) ?? "chat/completions") as Operation;
  const name = deployment?.[1] === undefined ? undefined : decode(deployment[1]);
  if (op === "audio/speech") {
    serveOpenAISpeech(request, env, key, name);
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString("utf8"));
  } catch {
    body = undefined;
  }
  if (!isObject(body)) {
    sendError(res, 400, "The request body must be a JSON object.", "BadRequest");
    return;
  }
  const model = name ?? (typeof body.model === "string" ? body.model : "");
  if (model === "") {
    sendError(res, 400, "model is required on the v1 API (the deployment name)", "BadRequest");
    return;
  }
  serve(request, env, key, op, body, model);
}

/** Azure OpenAI (deployment and v1 routes) under `/azure`. */
export const azureProtocol: NativeProtocol = { prefix: "/azure", handle };
