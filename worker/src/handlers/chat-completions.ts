import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../http/errors.js";
import { relayStream, SSE_HEADERS } from "../streaming/relay.js";
import { chatAttempt } from "./chat-attempt.js";
import {
  answerError,
  authenticateRequest,
  clientSignal,
  closeStream,
  type GatewayDeps,
  readJson,
  requireModel,
  routeFor,
  settle,
} from "./common.js";
import { beginRequest } from "./lifecycle.js";

function validate(body: Record<string, unknown>): { model: string; stream: boolean } {
  const model = requireModel(body);
  const { messages, stream } = body;
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

/** POST /v1/chat/completions: authenticate, route through the engine, relay, account. */
export function createChatHandler(deps: GatewayDeps) {
  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const life = beginRequest(deps, req, "chat");
    const { a } = life;
    const finish = life.finish;
    res.setHeader("x-request-id", a.requestId);
    try {
      const found = authenticateRequest(req, deps);
      a.key = found instanceof Promise ? await found : found;
      life.authenticated();
      const body = await readJson(req, deps);
      const { model, stream } = validate(body);
      a.model = model;
      a.streamed = stream;
      const route = routeFor(deps, a.key, model);
      const signal = clientSignal(res);
      const deadline = a.startedAt + deps.requestTimeoutMs;
      const attempt = life.attempts(chatAttempt(deps, body, stream, wantsUsage(body), signal, deadline));
      const value = settle(res, await deps.engine.run(route, attempt, deadline, signal), a, finish);
      if (!value) return;
      if (value.kind === "json") {
        a.providerMs = performance.now() - value.providerStart;
        a.usage = value.usage;
        life.commit(res);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(value.body);
        return finish(200, "");
      }
      life.commit(res, value.providerStart);
      res.writeHead(200, SSE_HEADERS);
      const outcome = await relayStream(
        res,
        value.stream,
        value.first,
        value.pending,
        deps.keepalive,
        signal,
      );
      closeStream(deps, a, value, outcome, route, finish);
    } catch (err) {
      answerError(res, err, finish);
    }
  };
}
