import { pathFor } from "../shared/paths.js";
import { applyQuirks } from "../shared/quirks.js";
import type { CallContext, UpstreamRequest } from "../types.js";

function headers(ctx: CallContext): Record<string, string> {
  const out: Record<string, string> = { "content-type": "application/json" };
  const organization = ctx.target.credential.entry.settings?.organization;
  if (organization) out["openai-organization"] = organization;
  return out;
}

/** The client's body with the upstream model (unless the path carries it) and the row's quirks. */
function withModel(body: Record<string, unknown>, ctx: CallContext): Record<string, unknown> {
  const { credential, upstreamModel } = ctx.target;
  const out = applyQuirks({ ...body }, credential.provider);
  if (credential.provider.modelInBody === false) delete out.model;
  else out.model = upstreamModel;
  return out;
}

/**
 * OpenAI-compatible upstreams take the client's body as it is, with the
 * public model name replaced by the upstream one, the row's quirks applied,
 * and streams asked to report usage (the stream translator removes it again
 * when the client did not ask for it).
 */
export function chatRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const out = withModel(body, ctx);
  if (ctx.stream) {
    const given = body.stream_options;
    const base = typeof given === "object" && given !== null && !Array.isArray(given) ? given : {};
    out.stream_options = { ...base, include_usage: true };
  }
  return {
    path: pathFor(ctx, "chat", "/chat/completions"),
    headers: headers(ctx),
    body: JSON.stringify(out),
  };
}

export function embeddingsRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest[] {
  const out = withModel(body, ctx);
  return [
    { path: pathFor(ctx, "embeddings", "/embeddings"), headers: headers(ctx), body: JSON.stringify(out) },
  ];
}

export function speechRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const out = withModel(body, ctx);
  return { path: pathFor(ctx, "speech", "/audio/speech"), headers: headers(ctx), body: JSON.stringify(out) };
}
