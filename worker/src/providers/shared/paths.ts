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
    .replaceAll("{model}", encodeURIComponent(upstreamModel))
    .replaceAll("{deployment}", encodeURIComponent(deployment))
    .replaceAll("{api_version}", encodeURIComponent(settings?.apiVersion ?? ""))
    .replaceAll("{project}", encodeURIComponent(settings?.project ?? ""))
    .replaceAll("{region}", encodeURIComponent(settings?.region ?? ""));
}
