import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { GatewayError } from "../http/errors.js";
import { ADAPTERS } from "../providers/registry.js";
import type { AttemptResult } from "../routing/engine.js";
import { buildRequest, gatewayFailure, unsupportedFailure } from "../routing/failures.js";
import type { CompiledTarget } from "../table/compile.js";
import { callUpstream } from "../upstream/call.js";
import type { StreamedResponse } from "../upstream/streamed.js";
import {
  answerError,
  authenticateRequest,
  clientSignal,
  type GatewayDeps,
  readJson,
  requireModel,
  routeFor,
  settle,
} from "./common.js";
import { beginRequest } from "./lifecycle.js";

interface SpeechStart {
  response: StreamedResponse;
  contentType: string;
  providerStart: number;
}

function validate(body: Record<string, unknown>): string {
  const model = requireModel(body);
  if (typeof body.input !== "string" || body.input === "") {
    throw new GatewayError("invalid_request", "'input' must be a non-empty string", "input");
  }
  if (body.voice !== undefined && typeof body.voice !== "string") {
    throw new GatewayError("invalid_request", "'voice' must be a string", "voice");
  }
  return model;
}

function speechAttempt(
  deps: GatewayDeps,
  body: Record<string, unknown>,
  signal: AbortSignal,
  deadline: number,
) {
  return async (target: CompiledTarget): Promise<AttemptResult<SpeechStart>> => {
    const { credential } = target;
    const adapter = ADAPTERS[credential.provider.wireFormat];
    const speech = adapter.speech;
    if (!speech || !credential.provider.endpoints.includes("speech")) {
      return { ok: false, failure: unsupportedFailure(credential.provider.id, "/v1/audio/speech") };
    }
    const ctx = { target, stream: true };
    const providerStart = performance.now();
    const headersTimeout = Math.max(1, Math.min(deps.headersTimeoutMs, deadline - Date.now()));
    const built = buildRequest(() => speech.request(body, ctx));
    if (!built.ok) return built;
    const call = await callUpstream(deps.pools, credential, adapter, built.value, signal, headersTimeout);
    if (!call.ok) return call;
    const { response } = call;
    if (response.statusCode !== 200) {
      response.body.destroy();
      return {
        ok: false,
        failure: gatewayFailure(
          ErrorClass.MALFORMED_RESPONSE,
          "upstream_malformed_response",
          `provider ${credential.provider.id} answered HTTP ${response.statusCode}`,
          response.statusCode,
        ),
      };
    }
    return {
      ok: true,
      value: { response, contentType: speech.contentType(response.headers, body), providerStart },
    };
  };
}

/**
 * POST /v1/audio/speech: text to speech. The audio is relayed as the provider
 * streams it (binary, with backpressure); a provider that fails after the
 * first bytes ends the response early (audio has no error frame).
 */
export function createSpeechHandler(deps: GatewayDeps) {
  return async function handleSpeech(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const life = beginRequest(deps, req, "speech");
    const { a } = life;
    const finish = life.finish;
    res.setHeader("x-request-id", a.requestId);
    try {
      const found = authenticateRequest(req, deps);
      a.key = found instanceof Promise ? await found : found;
      life.authenticated();
      const body = await readJson(req, deps);
      a.model = validate(body);
      a.streamed = true;
      const route = routeFor(deps, a.key, a.model);
      const signal = clientSignal(res);
      const deadline = a.startedAt + deps.requestTimeoutMs;
      const attempt = life.attempts(speechAttempt(deps, body, signal, deadline));
      const value = settle(res, await deps.engine.run(route, attempt, deadline, signal), a, finish);
      if (!value) return;
      life.commit(res, value.providerStart);
      res.writeHead(200, { "content-type": value.contentType, "cache-control": "no-store" });
      try {
        for await (const chunk of value.response.body) {
          if (a.ttftMs === 0) a.ttftMs = performance.now() - a.started;
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
        a.providerMs = performance.now() - value.providerStart;
        finish(200, "");
      } catch {
        a.providerMs = performance.now() - value.providerStart;
        if (signal.aborted) return finish(499, "client_closed");
        a.errorClass = ErrorClass.UNAVAILABLE;
        res.destroy();
        finish(502, "upstream_error");
      }
    } catch (err) {
      answerError(res, err, finish);
    }
  };
}
