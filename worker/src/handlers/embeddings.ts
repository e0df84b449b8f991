import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../http/errors.js";
import { ADAPTERS } from "../providers/registry.js";
import type { Usage } from "../providers/types.js";
import type { AttemptResult } from "../routing/engine.js";
import { buildRequest, unsupportedFailure } from "../routing/failures.js";
import type { CompiledTarget } from "../table/compile.js";
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
import { callForJson, unreadable } from "./upstream-json.js";

interface EmbeddingsReply {
  body: Buffer | string;
  usage: Usage | undefined;
  providerStart: number;
}

const isStringArray = (v: unknown[]) => v.every((x) => typeof x === "string");
const isTokenArray = (v: unknown[]) => v.every((x) => Number.isInteger(x));

function validate(body: Record<string, unknown>): string {
  const model = requireModel(body);
  const { input } = body;
  const ok =
    (typeof input === "string" && input !== "") ||
    (Array.isArray(input) &&
      input.length > 0 &&
      (isStringArray(input) ||
        isTokenArray(input) ||
        input.every((x) => Array.isArray(x) && x.length > 0 && isTokenArray(x))));
  if (!ok) {
    throw new GatewayError(
      "invalid_request",
      "'input' must be a non-empty string, array of strings, or array of token arrays",
      "input",
    );
  }
  return model;
}

/** One embeddings attempt: the adapter's request(s), every reply read, translated back. */
function embeddingsAttempt(
  deps: GatewayDeps,
  body: Record<string, unknown>,
  signal: AbortSignal,
  deadline: number,
) {
  return async (target: CompiledTarget): Promise<AttemptResult<EmbeddingsReply>> => {
    const { credential } = target;
    const adapter = ADAPTERS[credential.provider.wireFormat];
    const embeddings = adapter.embeddings;
    const provider = credential.provider.id;
    if (!embeddings || !credential.provider.endpoints.includes("embeddings")) {
      return { ok: false, failure: unsupportedFailure(provider, "/v1/embeddings") };
    }
    const ctx = { target, stream: false };
    const providerStart = performance.now();
    const headersTimeout = Math.max(1, Math.min(deps.headersTimeoutMs, deadline - Date.now()));
    const built = buildRequest(() => embeddings.request(body, ctx));
    if (!built.ok) return built;
    const replies = await callForJson(deps.pools, credential, adapter, built.value, signal, headersTimeout);
    if (!replies.ok) return replies;
    const out = embeddings.response(replies.value, ctx, body);
    if (!out) return unreadable(provider);
    return { ok: true, value: { ...out, providerStart } };
  };
}

/** POST /v1/embeddings. */
export function createEmbeddingsHandler(deps: GatewayDeps) {
  return async function handleEmbeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const life = beginRequest(deps, req, "embeddings");
    const { a } = life;
    const finish = life.finish;
    res.setHeader("x-request-id", a.requestId);
    try {
      const found = authenticateRequest(req, deps);
      a.key = found instanceof Promise ? await found : found;
      life.authenticated();
      const body = await readJson(req, deps);
      a.model = validate(body);
      const route = routeFor(deps, a.key, a.model);
      const signal = clientSignal(res);
      const deadline = a.startedAt + deps.requestTimeoutMs;
      const attempt = life.attempts(embeddingsAttempt(deps, body, signal, deadline));
      const value = settle(res, await deps.engine.run(route, attempt, deadline, signal), a, finish);
      if (!value) return;
      a.providerMs = performance.now() - value.providerStart;
      a.usage = value.usage;
      life.commit(res);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(value.body);
      finish(200, "");
    } catch (err) {
      answerError(res, err, finish);
    }
  };
}
