import type { IncomingHttpHeaders } from "node:http";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import { classifyStatus } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

/** Google's RPC error: `{"error":{"code","message","status","details"}}`. */
interface GoogleErrorBody {
  error?: { code?: unknown; message?: unknown; status?: unknown; details?: unknown };
}

/** Google RPC status strings that name a class whatever the HTTP status. */
const BY_STATUS: ReadonlyMap<string, ErrorClass> = new Map([
  ["RESOURCE_EXHAUSTED", ErrorClass.RATE_LIMITED],
  ["UNAUTHENTICATED", ErrorClass.AUTH],
  ["PERMISSION_DENIED", ErrorClass.AUTH],
  ["UNAVAILABLE", ErrorClass.UNAVAILABLE],
  ["INTERNAL", ErrorClass.UNAVAILABLE],
  ["DEADLINE_EXCEEDED", ErrorClass.TIMEOUT],
]);

/** `ErrorInfo.reason`s of a key Gemini does not accept: it answers 400 INVALID_ARGUMENT for them. */
const KEY_REASONS = new Set(["API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"]);

/** An INVALID_ARGUMENT about the prompt's size ("The input token count (…) exceeds the maximum number of tokens allowed (…)"). */
const TOKEN_LIMIT =
  /exceeds the maximum number of tokens|input token count|too many tokens|context (length|window)|prompt is too long/i;

/** OpenAI error `type` for a class and status, so SDKs raise the matching error. */
function typeOf(errorClass: ErrorClass, status: number): string {
  if (errorClass === ErrorClass.RATE_LIMITED) return "rate_limit_error";
  if (errorClass === ErrorClass.AUTH) return status === 403 ? "permission_error" : "authentication_error";
  if (status === 404) return "not_found_error";
  if (status < 500 && errorClass !== ErrorClass.UNAVAILABLE && errorClass !== ErrorClass.TIMEOUT) {
    return "invalid_request_error";
  }
  return "api_error";
}

function reasons(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details
    .map((d) => (typeof d === "object" && d !== null ? (d as { reason?: unknown }).reason : undefined))
    .filter((r): r is string => typeof r === "string");
}

/** The class of a Google error from its RPC status, details and message, else from the HTTP status. */
function classify(status: number, rpc: unknown, message: string, details: unknown): ErrorClass {
  if (reasons(details).some((r) => KEY_REASONS.has(r))) return ErrorClass.AUTH;
  if (typeof rpc === "string") {
    const known = BY_STATUS.get(rpc);
    if (known !== undefined) return known;
    if (rpc === "INVALID_ARGUMENT" || rpc === "FAILED_PRECONDITION" || rpc === "OUT_OF_RANGE") {
      return TOKEN_LIMIT.test(message) ? ErrorClass.CONTEXT_LENGTH_EXCEEDED : ErrorClass.BAD_REQUEST;
    }
  }
  if (status === 400 && TOKEN_LIMIT.test(message)) return ErrorClass.CONTEXT_LENGTH_EXCEEDED;
  return classifyStatus(status);
}

/**
 * A parsed Google error (a reply body or an error event of a stream) → the
 * client's OpenAI-shaped error keeping Google's message, and the engine's
 * class. `code` is Google's RPC status (or context_length_exceeded, which
 * OpenAI clients recognise).
 */
export function googleError(status: number, parsed: unknown): TranslatedError {
  const e = (parsed as GoogleErrorBody).error;
  const message = typeof e?.message === "string" ? e.message : `upstream provider returned HTTP ${status}`;
  const errorClass = classify(status, e?.status, message, e?.details);
  const code =
    errorClass === ErrorClass.CONTEXT_LENGTH_EXCEEDED
      ? "context_length_exceeded"
      : typeof e?.status === "string"
        ? e.status
        : "upstream_error";
  return { status, body: errorBody(typeOf(errorClass, status), message, code), errorClass };
}

/**
 * Gemini and Vertex AI errors (`{"error":{code,message,status}}`, sometimes
 * wrapped in a one-element array). A body in another shape (a proxy's HTML
 * page) is replaced by a generic message, keeping the status.
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const text = body.subarray(0, 64 * 1024).toString("utf8");
  try {
    let parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.length === 1) parsed = parsed[0];
    const e = (parsed as GoogleErrorBody | null)?.error;
    if (typeof e === "object" && e !== null) return googleError(status, parsed);
  } catch {
    // not JSON
  }
  const errorClass = classifyStatus(status);
  return {
    status,
    body: errorBody(
      typeOf(errorClass, status),
      `upstream provider returned HTTP ${status}`,
      "upstream_error",
    ),
    errorClass,
  };
}
