import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { looksLikeJwt } from "../../../lib/src/oidc.js";
import { authenticate, presentedKey } from "../http/auth.js";
import { parseJsonObject, readBody } from "../http/body.js";
import { GatewayError, sendError } from "../http/errors.js";
import type { SessionAuthenticator } from "../http/session.js";
import { ADAPTERS } from "../providers/registry.js";
import type { Usage } from "../providers/types.js";
import { pickTarget } from "../table/compile.js";
import type { KeyRecord, RoutingTable } from "../table/routing-table.js";
import type { Pools } from "../upstream/pools.js";
import type { UsageReporter } from "../usage/usage-reporter.js";

export interface ChatDeps {
  table: RoutingTable;
  pools: Pools;
  usage: UsageReporter;
  maxBodyBytes: number;
  /** OIDC session tokens as the api_key; undefined when OIDC is not configured. */
  sessions: SessionAuthenticator | undefined;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

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

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const UNREACHABLE_CODES = new Set([
  "UND_ERR_CONNECT",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
]);

/** A failure talking to the provider (connect, timeout, dropped body) as the client's error. */
function upstreamFailure(err: unknown, provider: string): GatewayError {
  const code = (err as { code?: string }).code ?? "";
  if (TIMEOUT_CODES.has(code))
    return new GatewayError("upstream_timeout", `provider ${provider} did not answer in time`);
  if (UNREACHABLE_CODES.has(code))
    return new GatewayError("upstream_unreachable", `could not reach provider ${provider}`);
  return new GatewayError("upstream_error", `the connection to provider ${provider} failed`);
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[\w.:-]{8,128}$/.test(given) ? given : randomUUID();
}

/** POST /v1/chat/completions: authenticate, route, call the provider, relay, account. */
export function createChatHandler(deps: ChatDeps) {
  return async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const requestId = requestIdOf(req);
    res.setHeader("x-request-id", requestId);
    let key: KeyRecord | undefined;
    const account = {
      model: "",
      servedModel: "",
      provider: "",
      credentialId: "",
      streamed: false,
      providerMs: 0,
      ttftMs: 0,
      attempts: 0,
      usage: undefined as Usage | undefined,
    };
    const finish = (status: number, errorCode = "") => {
      if (!key) return; // unauthenticated requests are not tenant usage
      const u = account.usage;
      deps.usage.record({
        requestId,
        orgId: key.orgId,
        apiKeyId: key.id,
        userId: key.userId,
        provider: account.provider,
        credentialId: account.credentialId,
        requestedModel: account.model,
        servedModel: account.servedModel,
        requestType: "chat",
        streamed: account.streamed,
        statusCode: status,
        errorCode,
        promptTokens: BigInt(u?.promptTokens ?? 0),
        completionTokens: BigInt(u?.completionTokens ?? 0),
        cachedTokens: BigInt(u?.cachedTokens ?? 0),
        reasoningTokens: BigInt(u?.reasoningTokens ?? 0),
        startedAt: timestampFromMs(startedAt),
        durationMs: performance.now() - started,
        providerDurationMs: account.providerMs,
        timeToFirstTokenMs: account.ttftMs,
        attempts: account.attempts,
        routingVersion: BigInt(deps.table.version),
      });
    };

    try {
      if (deps.table.version === 0)
        throw new GatewayError("gateway_not_ready", "the gateway has no routing table yet");
      const token = presentedKey(req);
      key =
        deps.sessions && token && looksLikeJwt(token)
          ? await deps.sessions.authenticate(req, token)
          : authenticate(req, deps.table, token);
      const body = parseJsonObject(await readBody(req, deps.maxBodyBytes));
      const { model, stream } = validate(body);
      account.model = model;
      account.streamed = stream;
      const route = deps.table.findRoute(key.orgId, model);
      if (!route) {
        throw new GatewayError(
          "model_not_found",
          `The model \`${model}\` does not exist or you do not have access to it.`,
          "model",
        );
      }
      const target = pickTarget(route);
      if (!target) {
        throw new GatewayError(
          "model_unavailable",
          `The model \`${model}\` has no enabled provider credential right now.`,
          "model",
        );
      }
      const { credential } = target;
      const adapter = ADAPTERS[credential.provider.wireFormat];
      account.provider = credential.provider.id;
      account.credentialId = credential.id;
      account.servedModel = target.upstreamModel;
      account.attempts = 1;
      const upstream = adapter.chatRequest(body, target);

      const abort = new AbortController();
      res.once("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const providerStart = performance.now();
      let response: Awaited<ReturnType<ReturnType<Pools["get"]>["request"]>>;
      try {
        response = await deps.pools.get(credential.origin).request({
          method: "POST",
          path: credential.basePath + upstream.path,
          headers: upstream.headers,
          body: upstream.body,
          signal: abort.signal,
        });
      } catch (err) {
        throw upstreamFailure(err, credential.provider.id);
      }
      const readAll = async () => {
        try {
          return Buffer.from(await response.body.arrayBuffer());
        } catch (err) {
          throw upstreamFailure(err, credential.provider.id);
        }
      };

      if (response.statusCode >= 400) {
        const raw = await readAll();
        account.providerMs = performance.now() - providerStart;
        const translated = adapter.error(response.statusCode, raw);
        const retryAfter = response.headers["retry-after"];
        res.writeHead(translated.status, {
          "content-type": "application/json",
          ...(typeof retryAfter === "string" ? { "retry-after": retryAfter } : {}),
        });
        res.end(translated.body);
        finish(translated.status, "upstream_error");
        return;
      }

      if (!stream) {
        const raw = await readAll();
        account.providerMs = performance.now() - providerStart;
        const out = adapter.chatResponse(raw);
        account.usage = out.usage;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(out.body);
        finish(200);
        return;
      }

      res.writeHead(200, SSE_HEADERS);
      const translator = adapter.chatStream();
      try {
        for await (const chunk of response.body) {
          if (account.ttftMs === 0) account.ttftMs = performance.now() - started;
          const out = translator.transform(chunk as Buffer);
          if (!res.write(out)) await new Promise((resolve) => res.once("drain", resolve));
        }
        account.providerMs = performance.now() - providerStart;
        account.usage = translator.usage();
        res.end();
        finish(200);
      } catch {
        account.providerMs = performance.now() - providerStart;
        account.usage = translator.usage();
        if (!res.destroyed) {
          const event = {
            error: {
              message: "the provider stream ended unexpectedly",
              type: "api_error",
              param: null,
              code: "upstream_error",
            },
          };
          res.end(`data: ${JSON.stringify(event)}\n\n`);
        }
        finish(502, "upstream_error");
      }
    } catch (err) {
      const gatewayError =
        err instanceof GatewayError
          ? err
          : new GatewayError("internal_error", "the gateway failed to handle the request");
      sendError(res, gatewayError);
      finish(gatewayError.status, gatewayError.code);
      if (!(err instanceof GatewayError)) throw err;
    }
  };
}
