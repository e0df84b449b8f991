import type { CompiledTarget } from "../../table/compile.js";
import { authHeaders } from "../shared/auth-headers.js";
import type { ChatOptions, UpstreamRequest } from "../types.js";

/**
 * OpenAI-compatible upstreams take the client's body as it is, with the
 * public model name replaced by the upstream one, and streams asked to
 * report usage (the stream translator removes it again when the client did
 * not ask for it).
 */
export function chatRequest(
  body: Record<string, unknown>,
  target: CompiledTarget,
  options: ChatOptions,
): UpstreamRequest {
  const { credential } = target;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...authHeaders(credential.provider.authStyle, credential.entry.secret),
  };
  const organization = credential.entry.settings?.organization;
  if (organization) headers["openai-organization"] = organization;
  const out: Record<string, unknown> = { ...body, model: target.upstreamModel };
  if (options.includeUsage && body.stream === true) {
    const given = body.stream_options;
    const base = typeof given === "object" && given !== null && !Array.isArray(given) ? given : {};
    out.stream_options = { ...base, include_usage: true };
  }
  return { path: "/chat/completions", headers, body: JSON.stringify(out) };
}
