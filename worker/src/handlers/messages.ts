import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../http/errors.js";
import { toChatRequest } from "../ingress/anthropic/request.js";
import { anthropicError, fromOpenAIError, toMessage } from "../ingress/anthropic/response.js";
import { createAnthropicStream } from "../ingress/anthropic/stream.js";
import type { AttemptFailure } from "../routing/failures.js";
import { mapFirst, mapStream } from "../streaming/map.js";
import { relayStream, SSE_HEADERS } from "../streaming/relay.js";
import { chatAttempt } from "./chat-attempt.js";
import {
  authenticateRequest,
  clientSignal,
  closeStream,
  type GatewayDeps,
  readJson,
  routeFor,
  settle,
} from "./common.js";
import { beginRequest } from "./lifecycle.js";

const BROKEN = `event: error\ndata: ${anthropicError(502, "the provider stream ended unexpectedly")}\n\n`;

function sendAnthropic(res: ServerResponse, status: number, body: string, retryAfterMs?: number): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (retryAfterMs !== undefined) headers["retry-after"] = Math.max(1, Math.ceil(retryAfterMs / 1000));
  res.writeHead(status, headers);
  res.end(body);
}

const sendFailure = (res: ServerResponse, f: AttemptFailure) =>
  sendAnthropic(res, f.status, fromOpenAIError(f.status, f.body), f.retryAfterMs);

/**
 * POST /v1/messages: the Anthropic Messages API, routed like any chat request
 * (so Claude Code and the Anthropic SDKs reach every provider through the
 * gateway). Keys come as `x-api-key` or a bearer token; errors, replies and
 * streams are in Anthropic's shapes.
 */
export function createMessagesHandler(deps: GatewayDeps) {
  return async function handleMessages(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const life = beginRequest(deps, req, "messages");
    const { a } = life;
    const finish = life.finish;
    res.setHeader("x-request-id", a.requestId);
    res.setHeader("request-id", a.requestId);
    try {
      const found = authenticateRequest(req, deps);
      a.key = found instanceof Promise ? await found : found;
      life.authenticated();
      const body = toChatRequest(await readJson(req, deps));
      const model = body.model as string;
      const stream = body.stream === true;
      a.model = model;
      a.streamed = stream;
      const route = routeFor(deps, a.key, model);
      const signal = clientSignal(res);
      const deadline = a.startedAt + deps.requestTimeoutMs;
      // The converter needs the usage chunk: always ask for it.
      const attempt = life.attempts(chatAttempt(deps, body, stream, true, signal, deadline));
      const value = settle(
        res,
        await deps.engine.run(route, attempt, deadline, signal),
        a,
        finish,
        sendFailure,
      );
      if (!value) return;
      if (value.kind === "json") {
        a.providerMs = performance.now() - value.providerStart;
        a.usage = value.usage;
        const message = toMessage(JSON.parse(value.body.toString()) as Record<string, unknown>, model);
        if (!message)
          throw new GatewayError("upstream_malformed_response", "the provider's reply had no message");
        life.commit(res);
        sendAnthropic(res, 200, JSON.stringify(message));
        return finish(200, "");
      }
      const anthropic = createAnthropicStream(model);
      const convert = (s: string) => anthropic.convert(s);
      life.commit(res, value.providerStart);
      res.writeHead(200, SSE_HEADERS);
      const outcome = await relayStream(
        res,
        mapStream(value.stream, convert, () => anthropic.end()),
        mapFirst(value.first, convert),
        value.pending?.then((v) => mapFirst(v, convert) ?? null),
        deps.keepalive,
        signal,
        BROKEN,
      );
      closeStream(deps, a, value, outcome, route, finish);
    } catch (err) {
      const e =
        err instanceof GatewayError
          ? err
          : new GatewayError("internal_error", "the gateway failed to handle the request");
      sendAnthropic(res, e.status, anthropicError(e.status, e.message));
      finish(e.status, e.code);
      if (!(err instanceof GatewayError)) throw err;
    }
  };
}
