import type { IncomingHttpHeaders } from "node:http";
import { errorBody } from "../../http/errors.js";
import { classifyError } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

interface OpenAIErrorBody {
  error?: { message?: unknown; code?: unknown; type?: unknown };
}

/**
 * OpenAI-compatible errors are already in the client's shape; anything that
 * is not (an HTML page from a proxy, a vendor's own JSON) is wrapped, keeping
 * the status. Bodies are capped so a huge page is not relayed. The class
 * comes from the error's code or type (insufficient_quota, context length,
 * content filter) and otherwise from the status.
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const text = body.subarray(0, 64 * 1024).toString("utf8");
  try {
    const parsed = JSON.parse(text) as OpenAIErrorBody;
    const e = parsed.error;
    if (e && typeof e.message === "string") {
      return { status, body: text, errorClass: classifyError(status, e.code, e.type) };
    }
  } catch {
    // fall through
  }
  const message = `upstream provider returned HTTP ${status}`;
  return {
    status,
    body: errorBody(status === 429 ? "rate_limit_error" : "api_error", message, "upstream_error"),
    errorClass: classifyError(status),
  };
}
