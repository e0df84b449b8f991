import type { CompiledTarget } from "../../table/compile.js";
import { authHeaders } from "../shared/auth-headers.js";
import type { UpstreamRequest } from "../types.js";

/**
 * OpenAI-compatible upstreams take the client's body as it is, with the
 * public model name replaced by the upstream one.
 */
export function chatRequest(body: Record<string, unknown>, target: CompiledTarget): UpstreamRequest {
  const { credential } = target;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...authHeaders(credential.provider.authStyle, credential.entry.secret),
  };
  const organization = credential.entry.settings?.organization;
  if (organization) headers["openai-organization"] = organization;
  body.model = target.upstreamModel;
  return { path: "/chat/completions", headers, body: JSON.stringify(body) };
}
