import type { IncomingHttpHeaders } from "node:http";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import { classifyStatus } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

/** Provider error bodies beyond this are not read. */
const MAX_ERROR_TEXT = 64 * 1024;

/** Cohere's wording for a prompt over the model's context ("too many tokens", "exceeds the context length"). */
const CONTEXT = /too many tokens|context (length|window)|prompt is too long/i;
/** Trial keys hit a monthly call limit (a 429 that waiting a few seconds does not fix). */
const TRIAL = /trial key/i;

/**
 * The class of a Cohere error from its status and message: 402 and trial-key
 * limits are quota, a 400 about too many tokens is the context length, the
 * rest by status (429 rate limited, 401/403 auth, 5xx unavailable, ...).
 */
export function classify(status: number, message: string): ErrorClass {
  if (status === 402 || (status === 429 && TRIAL.test(message))) return ErrorClass.QUOTA_EXHAUSTED;
  if ((status === 400 || status === 422) && CONTEXT.test(message)) return ErrorClass.CONTEXT_LENGTH_EXCEEDED;
  return classifyStatus(status);
}

/**
 * The class of an error Cohere reports inside a 200 stream: the context
 * length when the message says so, else the provider failed (unavailable).
 */
export function classifyStreamError(message: string): ErrorClass {
  return CONTEXT.test(message) ? ErrorClass.CONTEXT_LENGTH_EXCEEDED : ErrorClass.UNAVAILABLE;
}

/** OpenAI `type` and `code` for a class and status. */
function shape(errorClass: ErrorClass, status: number): { type: string; code: string | null } {
  switch (errorClass) {
    case ErrorClass.QUOTA_EXHAUSTED:
      return { type: "insufficient_quota", code: "insufficient_quota" };
    case ErrorClass.CONTEXT_LENGTH_EXCEEDED:
      return { type: "invalid_request_error", code: "context_length_exceeded" };
    case ErrorClass.RATE_LIMITED:
      return { type: "rate_limit_error", code: "rate_limit_exceeded" };
    case ErrorClass.AUTH:
      return status === 403
        ? { type: "permission_error", code: null }
        : { type: "authentication_error", code: "invalid_api_key" };
    case ErrorClass.BAD_REQUEST:
      return status === 404
        ? { type: "not_found_error", code: "not_found" }
        : { type: "invalid_request_error", code: null };
    default:
      return { type: "api_error", code: null };
  }
}

/** An OpenAI-shaped error of a Cohere message, classified. */
export function translated(status: number, message: string, errorClass = classify(status, message)) {
  const { type, code } = shape(errorClass, status);
  return {
    status,
    body: JSON.stringify({ error: { message, type, param: null, code } }),
    errorClass,
  } satisfies TranslatedError;
}

/** The `message` of a Cohere error body (`{"id","message"}`), if it has one. */
function messageOf(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { message } = parsed as { message?: unknown };
    return typeof message === "string" && message !== "" ? message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Cohere error reply → OpenAI's error shape, keeping the status and
 * Cohere's message (bodies that are not Cohere's JSON, such as a proxy's
 * HTML page, get a generic message instead).
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const message = messageOf(body.subarray(0, MAX_ERROR_TEXT).toString("utf8"));
  if (message !== undefined) return translated(status, message);
  const errorClass = classifyStatus(status);
  const { type } = shape(errorClass, status);
  return {
    status,
    body: errorBody(type, `upstream provider returned HTTP ${status}`, "upstream_error"),
    errorClass,
  };
}
