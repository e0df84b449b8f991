import { errorBody } from "../../http/errors.js";
import type { TranslatedError } from "../types.js";

/**
 * OpenAI-compatible errors are already in the client's shape; anything that
 * is not (an HTML page from a proxy, a vendor's own JSON) is wrapped, keeping
 * the status. Bodies are capped so a huge page is not relayed.
 */
export function error(status: number, body: Buffer): TranslatedError {
  const text = body.subarray(0, 64 * 1024).toString("utf8");
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (parsed.error && typeof parsed.error.message === "string") return { status, body: text };
  } catch {
    // fall through
  }
  const message = `upstream provider returned HTTP ${status}`;
  return {
    status,
    body: errorBody(status === 429 ? "rate_limit_error" : "api_error", message, "upstream_error"),
  };
}
