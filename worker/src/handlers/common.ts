import type { IncomingMessage, ServerResponse } from "node:http";
import { looksLikeJwt } from "../../../lib/src/oidc.js";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { authenticate, presentedKey } from "../http/auth.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { GatewayError, sendError } from "../http/errors.js";
import type { SessionAuthenticator } from "../http/session.js";
import type { RoutingEngine, RunResult } from "../routing/engine.js";
import type { AttemptFailure } from "../routing/failures.js";
import type { Keepalive } from "../streaming/keepalive.js";
import type { RelayOutcome } from "../streaming/relay.js";
import type { UpstreamStream } from "../streaming/upstream-stream.js";
import type { CompiledRoute, CompiledTarget } from "../table/compile.js";
import type { KeyRecord, RoutingTable } from "../table/routing-table.js";
import type { Pools } from "../upstream/pools.js";
import type { UsageReporter } from "../usage/usage-reporter.js";
import type { Account } from "./account.js";
import type { LifecycleDeps } from "./lifecycle.js";

/** What the OpenAI-compatible handlers need from the worker. */
export interface GatewayDeps extends LifecycleDeps {
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

/**
 * The key of a request: a gateway API key, or an OIDC session token when OIDC is on. A gateway
 * key is checked synchronously (the record, or a throw); only a session token gives a promise,
 * so a handler awaits only then and the common case takes no promise turn (issue 8, target 5).
 */
export function authenticateRequest(req: IncomingMessage, deps: GatewayDeps): KeyRecord | Promise<KeyRecord> {
  if (deps.table.version === 0)
    throw new GatewayError("gateway_not_ready", "the gateway has no routing table yet");
  const token = presentedKey(req);
  return deps.sessions && token && looksLikeJwt(token)
    ? deps.sessions.authenticate(req, token)
    : authenticate(req, deps.table, token);
}

/** The request body as a JSON object (413, 400 in OpenAI's shape otherwise). */
export async function readJson(req: IncomingMessage, deps: GatewayDeps): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(req, deps.maxBodyBytes));
}

/** `body.model` as a non-empty string. */
export function requireModel(body: Record<string, unknown>): string {
  const { model } = body;
  if (typeof model !== "string" || model === "") {
    throw new GatewayError("invalid_request", "you must provide a model parameter", "model");
  }
  return model;
}

/** The organization's route for a model, or 404 model_not_found. */
export function routeFor(deps: GatewayDeps, key: KeyRecord, model: string): CompiledRoute {
  const route = deps.table.findRouteOf(key, model);
  if (!route) {
    throw new GatewayError(
      "model_not_found",
      `The model \`${model}\` does not exist or you do not have access to it.`,
      "model",
    );
  }
  return route;
}

export { clientSignal } from "../http/client-signal.js";

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

/**
 * Answers an error thrown while handling a request (a GatewayError as it is,
 * anything else as internal_error), accounts it, and rethrows what was not a
 * GatewayError so the server logs it.
 */
export function answerError(
  res: ServerResponse,
  err: unknown,
  finish: (status: number, code: string) => void,
): void {
  const gatewayError =
    err instanceof GatewayError
      ? err
      : new GatewayError("internal_error", "the gateway failed to handle the request");
  sendError(res, gatewayError);
  finish(gatewayError.status, gatewayError.code);
  if (!(err instanceof GatewayError)) throw err;
}

/**
 * Records the routing outcome on the account; when it produced no value,
 * answers the client (the last failure, or nothing for a client that left),
 * closes the account and returns undefined. Else returns the value.
 */
export function settle<T>(
  res: ServerResponse,
  result: RunResult<T>,
  a: Account,
  finish: (status: number, code: string) => void,
  send: (res: ServerResponse, f: AttemptFailure) => void = sendFailure,
): T | undefined {
  a.target = result.target;
  a.attempts = result.attempts;
  a.fallbackDepth = result.fallbackDepth;
  if (!result.aborted && result.value !== undefined) return result.value;
  const f = result.failure;
  if (result.aborted || !f) {
    finish(499, "client_closed");
    return undefined;
  }
  a.errorClass = f.errorClass;
  send(res, f);
  finish(f.status, f.code);
  return undefined;
}

/**
 * Accounts a relayed stream: provider time, time to first byte, usage and
 * outcome; a stream that broke after the commit counts against its credential.
 */
export function closeStream(
  deps: GatewayDeps,
  a: Account,
  start: { stream: UpstreamStream; providerStart: number },
  outcome: RelayOutcome,
  route: CompiledRoute,
  finish: (status: number, code: string) => void,
): void {
  a.providerMs = performance.now() - start.providerStart;
  a.ttftMs = outcome.firstByteAt === 0 ? 0 : outcome.firstByteAt - a.started;
  a.usage = start.stream.translator.usage();
  a.errorClass = outcome.errorClass;
  if (outcome.errorClass !== ErrorClass.UNSPECIFIED && a.target)
    deps.streamBroke(a.target, route, outcome.errorClass);
  finish(outcome.status, outcome.code);
}
