import type { Endpoint } from "../../../../lib/src/provider-catalog.js";
import type { CallContext } from "../types.js";

/**
 * The request path for an endpoint: the provider row's template when it has
 * one (Azure deployments, Vertex AI publishers), else the wire format's
 * default, with `{model}` (URL-encoded), `{deployment}`, `{api_version}`,
 * `{project}` and `{region}` filled in. "chatStream" falls back to "chat".
 */
export function pathFor(ctx: CallContext, key: Endpoint | "chatStream", fallback: string): string {
  const { credential, upstreamModel } = ctx.target;
  const paths = credential.provider.paths;
  const template = paths?.[key] ?? (key === "chatStream" ? paths?.chat : undefined) ?? fallback;
  if (!template.includes("{")) return template;
  const settings = credential.entry.settings;
  const deployment = settings?.deployments[upstreamModel] ?? upstreamModel;
  return template
    .replaceAll("{model}", segment(upstreamModel))
    .replaceAll("{deployment}", segment(deployment))
    .replaceAll("{api_version}", segment(settings?.apiVersion ?? ""))
    .replaceAll("{project}", segment(settings?.project ?? ""))
    .replaceAll("{region}", segment(settings?.region ?? ""));
}

/**
 * A path segment: percent-encoded, except `@`, which Vertex AI model
 * versions carry literally (`claude-sonnet-4-5@20250929`, as Google's SDKs
 * send it). `:` stays encoded: Bedrock model ids (`…-v1:0`) are sent as `%3A`,
 * as the AWS SDKs do, and signed accordingly.
 */
function segment(value: string): string {
  return encodeURIComponent(value).replaceAll("%40", "@");
}
