import { createHash } from "node:crypto";
import type { ProviderInfo } from "../../../../lib/src/provider-catalog.js";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A tool-call id as exactly 9 letters and digits, the same for the same id (Mistral's rule). */
export function alnum9(id: string): string {
  if (/^[a-zA-Z0-9]{9}$/.test(id)) return id;
  const digest = createHash("sha256").update(id).digest();
  let out = "";
  for (let i = 0; i < 9; i++) out += ALNUM[(digest[i] as number) % ALNUM.length];
  return out;
}

function rewriteToolCallIds(messages: unknown, rewrite: (id: string) => string): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((m: unknown) => {
    if (typeof m !== "object" || m === null) return m;
    const message = m as Record<string, unknown>;
    const out: Record<string, unknown> = { ...message };
    if (typeof message.tool_call_id === "string") out.tool_call_id = rewrite(message.tool_call_id);
    if (Array.isArray(message.tool_calls)) {
      out.tool_calls = message.tool_calls.map((c: unknown) =>
        typeof c === "object" && c !== null && typeof (c as { id?: unknown }).id === "string"
          ? { ...(c as object), id: rewrite((c as { id: string }).id) }
          : c,
      );
    }
    return out;
  });
}

/**
 * Applies a provider row's request quirks to a (copied) OpenAI-shaped body:
 * drops fields it rejects, renames and remaps others, rewrites tool-call ids
 * to the form it accepts, and adds its dialect's default fields. Rows without
 * quirks return the body untouched.
 */
export function applyQuirks(body: Record<string, unknown>, provider: ProviderInfo): Record<string, unknown> {
  const { dropParams, renameParams, mapValues, toolCallIds, bodyDefaults } = provider;
  if (!dropParams && !renameParams && !mapValues && !toolCallIds && !bodyDefaults) return body;
  const out: Record<string, unknown> = { ...body };
  for (const field of dropParams ?? []) delete out[field];
  for (const [from, to] of Object.entries(renameParams ?? {})) {
    if (from in out) {
      out[to] = out[from];
      delete out[from];
    }
  }
  for (const [field, map] of Object.entries(mapValues ?? {})) {
    const value = out[field];
    if (typeof value === "string" && map[value] !== undefined) out[field] = map[value];
  }
  if (toolCallIds === "alnum9") out.messages = rewriteToolCallIds(out.messages, alnum9);
  for (const [field, value] of Object.entries(bodyDefaults ?? {})) out[field] ??= value;
  return out;
}
