import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";

/**
 * The error class of an HTTP status alone. Adapters refine it with what the
 * provider's body says (quota, context length, content filter), since those
 * share statuses with other errors.
 */
export function classifyStatus(status: number): ErrorClass {
  if (status === 401 || status === 403) return ErrorClass.AUTH;
  if (status === 402) return ErrorClass.QUOTA_EXHAUSTED;
  if (status === 408 || status === 504) return ErrorClass.TIMEOUT;
  if (status === 429) return ErrorClass.RATE_LIMITED;
  // 409 (a conflict the provider resolves on retry) and every 5xx, 529 overloaded included.
  if (status === 409 || status >= 500) return ErrorClass.UNAVAILABLE;
  return ErrorClass.BAD_REQUEST;
}

/** Provider error codes and types (lower case) that name a class regardless of the status. */
const BY_CODE: ReadonlyMap<string, ErrorClass> = new Map([
  ["insufficient_quota", ErrorClass.QUOTA_EXHAUSTED],
  ["billing_hard_limit_reached", ErrorClass.QUOTA_EXHAUSTED],
  ["context_length_exceeded", ErrorClass.CONTEXT_LENGTH_EXCEEDED],
  ["string_above_max_length", ErrorClass.CONTEXT_LENGTH_EXCEEDED],
  ["content_filter", ErrorClass.CONTENT_FILTER],
  ["content_policy_violation", ErrorClass.CONTENT_FILTER],
  ["overloaded_error", ErrorClass.UNAVAILABLE],
]);

/** The class a provider's error `code` or `type` names, or the status's class. */
export function classifyError(status: number, ...codes: ReadonlyArray<unknown>): ErrorClass {
  for (const code of codes) {
    if (typeof code !== "string") continue;
    const known = BY_CODE.get(code.toLowerCase());
    if (known !== undefined) return known;
  }
  return classifyStatus(status);
}

/**
 * Milliseconds the provider asked to wait, from `retry-after-ms` or
 * `retry-after` (seconds or an HTTP date); undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()) {
  const ms = headers["retry-after-ms"];
  if (typeof ms === "string") {
    const v = Number(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const after = headers["retry-after"];
  if (typeof after !== "string" || after.trim() === "") return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
