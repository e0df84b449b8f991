import type { IncomingMessage, ServerResponse } from "node:http";
import { looksLikeJwt } from "../../../lib/src/oidc.js";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { authenticate, presentedKey } from "../http/auth.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { GatewayError, sendError } from "../http/errors.js";
import type { SessionAuthenticator } from "../http/session.js";
import type { RoutingEngine } from "../routing/engine.js";
import type { AttemptFailure } from "../routing/failures.js";
import type { Keepalive } from "../streaming/keepalive.js";
import { relayStream, SSE_HEADERS } from "../streaming/relay.js";
import type { CompiledRoute, CompiledTarget } from "../table/compile.js";
import type { KeyRecord, RoutingTable } from "../table/routing-table.js";
import type { Pools } from "../upstream/pools.js";
import type { UsageReporter } from "../usage/usage-reporter.js";
import { type Account, closeAccount, openAccount } from "./account.js";
import { chatAttempt } from "./chat-attempt.js";

/** What the OpenAI-compatible handlers need from the worker. */
export interface GatewayDeps {
  table: RoutingTable;
  pools: Pools;
  usage: UsageReporter;
  engine: RoutingEngine;
  keepalive: Keepalive;
  maxBodyBytes: number;
  /** OIDC session tokens as the api_key; undefined when OIDC is not configured. */
  sessions: SessionAuthenticator | undefined;
  /** No new attempt starts later than this after arrival; caps each attempt's wait for headers. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** A stream silent this long after the provider accepted it is committed (pinged) anyway. */
  commitAfterMs: number;
  /** A committed stream broke: the credential's health and metrics hear of it. */
  streamBroke(target: CompiledTarget, route: CompiledRoute, errorClass: ErrorClass): void;
}

function validate(body: Record<string, unknown>): { model: string; stream: boolean } {
  const { model, messages, stream } = body;
  if (typeof model !== "string" || model === "") {
    throw new GatewayError("invalid_request", "you must provide a model parameter", "model");
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new GatewayError("invalid_request", "'messages' must be a non-empty array", "messages");
  }
  if (stream !== undefined && stream !== null && typeof stream !== "boolean") {
    throw new GatewayError("invalid_request", "'stream' must be a boolean", "stream");
  }
  return { model, stream: stream === true };
}

function wantsUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options;
  return (
    typeof options === "object" &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage === true
  );
}

/** The key of a request: a gateway API key, or an OIDC session token when OIDC is on. */
export async function authenticateRequest(req: IncomingMessage, deps: GatewayDeps): Promise<KeyRecord> {
  if (deps.table.version === 0)
    throw new GatewayError("gateway_not_ready", "the gateway has no routing table yet");
  const token = presentedKey(req);
  return deps.sessions && token && looksLikeJwt(token)
    ? deps.sessions.authenticate(req, token)
    : authenticate(req, deps.table, token);
}

/** Sends the failure the routing engine ended with, Retry-After included. */
export function sendFailure(res: ServerResponse, f: AttemptFailure): void {
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(f.body),
  };
  if (f.retryAfterMs !== undefined) headers["retry-after"] = Math.max(1, Math.ceil(f.retryAfterMs / 1000));
  res.writeHead(f.status, headers);
  res.end(f.body);
}

/** POST /v1/chat/completions: authenticate, route through the engine, relay, account. */
export function createChatHandler(deps: GatewayDeps) {
  const finish = (a: Account, status: number, code: string) =>
    closeAccount(deps.usage, a, status, code, deps.table.version);

  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const a = openAccount(req, "chat");
    res.setHeader("x-request-id", a.requestId);
    try {
      a.key = await authenticateRequest(req, deps);
      const body = parseJsonObject(await readBody(req, deps.maxBodyBytes));
      const { model, stream } = validate(body);
      a.model = model;
      a.streamed = stream;
      const route = deps.table.findRoute(a.key.orgId, model);
      if (!route) {
        throw new GatewayError(
          "model_not_found",
          `The model \`${model}\` does not exist or you do not have access to it.`,
          "model",
        );
      }
      const abort = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const deadline = a.startedAt + deps.requestTimeoutMs;
      const attempt = chatAttempt(deps, body, stream, wantsUsage(body), abort.signal, deadline);
      const result = await deps.engine.run(route, attempt, deadline, abort.signal);
      a.target = result.target;
      a.attempts = result.attempts;
      a.fallbackDepth = result.fallbackDepth;
      const value = result.value;
      if (result.aborted || value === undefined) {
        if (result.aborted || !result.failure) {
          finish(a, 499, "client_closed");
          return;
        }
        a.errorClass = result.failure.errorClass;
        sendFailure(res, result.failure);
        finish(a, result.failure.status, result.failure.code);
        return;
      }
      if (value.kind === "json") {
        a.providerMs = performance.now() - value.providerStart;
        a.usage = value.usage;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(value.body);
        finish(a, 200, "");
        return;
      }
      res.writeHead(200, SSE_HEADERS);
      const outcome = await relayStream(
        res,
        value.stream,
        value.first,
        value.pending,
        deps.keepalive,
        abort.signal,
      );
      a.providerMs = performance.now() - value.providerStart;
      a.ttftMs = outcome.firstByteAt === 0 ? 0 : outcome.firstByteAt - a.started;
      a.usage = value.stream.translator.usage();
      a.errorClass = outcome.errorClass;
      if (outcome.errorClass !== ErrorClass.UNSPECIFIED && result.target) {
        deps.streamBroke(result.target, route, outcome.errorClass);
      }
      finish(a, outcome.status, outcome.code);
    } catch (err) {
      const gatewayError =
        err instanceof GatewayError
          ? err
          : new GatewayError("internal_error", "the gateway failed to handle the request");
      sendError(res, gatewayError);
      finish(a, gatewayError.status, gatewayError.code);
      if (!(err instanceof GatewayError)) throw err;
    }
  };
}
