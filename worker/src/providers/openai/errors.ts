import type { IncomingHttpHeaders } from "node:http";
import { errorBody } from "../../http/errors.js";
import { classifyError } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

interface OpenAIErrorBody {
  error?: { message?: unknown; code?: unknown; type?: unknown } | string;
  /** Mistral and vLLM: `{"object":"error","message","type","param","code"}` at the top level. */
  message?: unknown;
  type?: unknown;
  code?: unknown;
}

/** OpenAI `type` for a vendor error without one, by status. */
const typeFor = (status: number) =>
  status === 429 ? "rate_limit_error" : status < 500 ? "invalid_request_error" : "api_error";

/**
 * OpenAI-compatible errors are already in the client's shape. Vendors' own
 * JSON (Mistral's and vLLM's top-level `message`, `{"error": "<text>"}`) is
 * rewrapped keeping its message; anything else (an HTML page from a proxy)
 * gets a generic message, keeping the status. Bodies are capped so a huge
 * page is not relayed. The class comes from the error's code or type
 * (insufficient_quota, context length, content filter) and otherwise from the
 * status.
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const text = body.subarray(0, 64 * 1024).toString("utf8");
  try {
    const parsed = JSON.parse(text) as OpenAIErrorBody;
    const e = parsed.error;
    if (typeof e === "object" && e !== null && typeof e.message === "string") {
      return { status, body: text, errorClass: classifyError(status, e.code, e.type) };
    }
    const message = typeof e === "string" ? e : parsed.message;
    if (typeof message === "string" && message !== "") {
      const type = typeof parsed.type === "string" ? parsed.type : typeFor(status);
      const code = typeof parsed.code === "string" ? parsed.code : null;
      return {
        status,
        body: JSON.stringify({ error: { message, type, param: null, code } }),
        errorClass: classifyError(status, parsed.code, parsed.type),
      };
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
