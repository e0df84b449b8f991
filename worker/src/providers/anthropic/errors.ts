import type { IncomingHttpHeaders } from "node:http";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import { classifyError } from "../shared/classify.js";
import { isObject } from "../shared/json.js";
import type { TranslatedError } from "../types.js";

/** Anthropic error types → the OpenAI error type clients (and their SDKs) expect. */
const OPENAI_TYPE: Readonly<Record<string, string>> = {
  invalid_request_error: "invalid_request_error",
  request_too_large: "invalid_request_error",
  authentication_error: "authentication_error",
  permission_error: "permission_error",
  not_found_error: "not_found_error",
  rate_limit_error: "rate_limit_error",
  billing_error: "insufficient_quota",
  api_error: "api_error",
  overloaded_error: "api_error",
  timeout_error: "api_error",
};

/** The HTTP status each Anthropic error type comes with, for errors reported inside a 200 stream. */
const TYPE_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Error types whose class does not depend on the status or the message. */
const TYPE_CLASS: Readonly<Record<string, ErrorClass>> = {
  overloaded_error: ErrorClass.UNAVAILABLE,
  api_error: ErrorClass.UNAVAILABLE,
  rate_limit_error: ErrorClass.RATE_LIMITED,
  authentication_error: ErrorClass.AUTH,
  permission_error: ErrorClass.AUTH,
  not_found_error: ErrorClass.BAD_REQUEST,
  billing_error: ErrorClass.QUOTA_EXHAUSTED,
  request_too_large: ErrorClass.BAD_REQUEST,
};

/** "prompt is too long: 215000 tokens > 200000 maximum", "input length and `max_tokens` exceed context limit". */
const CONTEXT = /prompt is too long|context limit|context window|context length/i;
/** "Your credit balance is too low to access the Anthropic API": a 400 that means the account is out of credit. */
const CREDIT = /credit balance/i;

function classify(status: number, type: string | undefined, message: string): ErrorClass {
  if (type !== undefined) {
    const known = TYPE_CLASS[type];
    if (known !== undefined) return known;
  }
  if (status < 500) {
    if (CONTEXT.test(message)) return ErrorClass.CONTEXT_LENGTH_EXCEEDED;
    if (CREDIT.test(message)) return ErrorClass.QUOTA_EXHAUSTED;
  }
  return classifyError(status, type);
}

/** The code the client sees: OpenAI's own names where one exists, else the Anthropic type. */
function codeOf(errorClass: ErrorClass, type: string | undefined): string {
  if (errorClass === ErrorClass.CONTEXT_LENGTH_EXCEEDED) return "context_length_exceeded";
  if (errorClass === ErrorClass.QUOTA_EXHAUSTED) return "insufficient_quota";
  return type ?? "upstream_error";
}

/**
 * A provider error with a readable message → OpenAI's error shape, keeping
 * the message and status (529, which OpenAI clients do not know, becomes 503).
 */
export function translate(status: number, type: string | undefined, message: string): TranslatedError {
  const errorClass = classify(status, type, message);
  const openaiType =
    (type !== undefined ? OPENAI_TYPE[type] : undefined) ??
    (status === 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error");
  return {
    status: status === 529 ? 503 : status,
    body: errorBody(openaiType, message, codeOf(errorClass, type)),
    errorClass,
  };
}

/** The type and message of an error object: Anthropic's `{type, message}` or Google's `{status, message}` (Vertex). */
function readError(e: unknown): { type: string | undefined; message: string } | undefined {
  if (!isObject(e) || typeof e.message !== "string") return undefined;
  const type = typeof e.type === "string" ? e.type : typeof e.status === "string" ? e.status : undefined;
  return { type, message: e.message };
}

/**
 * An Anthropic error reply (`{"type":"error","error":{"type","message"}}`)
 * → the client's error and its class. Vertex AI's own failures come in
 * Google's shape and are read too; a body that is neither (a proxy's HTML
 * page) is wrapped as `upstream_error`, keeping the status.
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const text = body.subarray(0, 64 * 1024).toString("utf8");
  try {
    const parsed: unknown = JSON.parse(text);
    const e = isObject(parsed) ? readError(parsed.error) : undefined;
    if (e) return translate(status, e.type, e.message);
  } catch {
    // fall through
  }
  return {
    status: status === 529 ? 503 : status,
    body: errorBody(
      status === 429 ? "rate_limit_error" : "api_error",
      `upstream provider returned HTTP ${status}`,
      "upstream_error",
    ),
    errorClass: classifyError(status),
  };
}

/** The `error` event of a stream (`{"type":"error","error":{...}}`), at the status its type comes with. */
export function streamError(e: unknown): TranslatedError {
  const read = readError(e) ?? { type: undefined, message: "the provider reported an error in the stream" };
  const status = (read.type !== undefined ? TYPE_STATUS[read.type] : undefined) ?? 502;
  return translate(status, read.type, read.message);
}
