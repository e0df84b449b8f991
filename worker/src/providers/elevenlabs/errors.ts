import type { IncomingHttpHeaders } from "node:http";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { classifyStatus } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

/** Provider error bodies beyond this are not read. */
const MAX_ERROR_TEXT = 64 * 1024;

/** ElevenLabs `detail.status` values that name a class whatever the HTTP status. */
const BY_STATUS: ReadonlyMap<string, ErrorClass> = new Map([
  ["quota_exceeded", ErrorClass.QUOTA_EXHAUSTED],
  ["insufficient_credits", ErrorClass.QUOTA_EXHAUSTED],
  ["invalid_api_key", ErrorClass.AUTH],
  ["missing_permissions", ErrorClass.AUTH],
  ["too_many_concurrent_requests", ErrorClass.RATE_LIMITED],
  ["system_busy", ErrorClass.UNAVAILABLE],
]);

interface Detail {
  /** ElevenLabs' own status string (`quota_exceeded`, `voice_not_found`, …), if any. */
  code: string | undefined;
  message: string | undefined;
}

/** One FastAPI validation item as "body.text: field required". */
function validationItem(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null) return undefined;
  const { loc, msg } = item as { loc?: unknown; msg?: unknown };
  if (typeof msg !== "string") return undefined;
  return Array.isArray(loc) && loc.length > 0 ? `${loc.join(".")}: ${msg}` : msg;
}

/**
 * The `detail` of an ElevenLabs error: `{"detail":{"status","message"}}`,
 * `{"detail":"..."}`, or FastAPI validation `{"detail":[{"loc","msg","type"}]}`.
 */
function detailOf(text: string): Detail {
  let detail: unknown;
  try {
    detail = (JSON.parse(text) as { detail?: unknown } | null)?.detail;
  } catch {
    return { code: undefined, message: undefined };
  }
  if (typeof detail === "string") return { code: undefined, message: detail || undefined };
  if (Array.isArray(detail)) {
    const items = detail.map(validationItem).filter((m): m is string => m !== undefined);
    return { code: undefined, message: items.length > 0 ? items.join("; ") : undefined };
  }
  if (typeof detail === "object" && detail !== null) {
    const { status, message } = detail as { status?: unknown; message?: unknown };
    return {
      code: typeof status === "string" ? status : undefined,
      message: typeof message === "string" && message !== "" ? message : undefined,
    };
  }
  return { code: undefined, message: undefined };
}

/** OpenAI `type` for a class and status. */
function typeOf(errorClass: ErrorClass, status: number): string {
  switch (errorClass) {
    case ErrorClass.QUOTA_EXHAUSTED:
      return "insufficient_quota";
    case ErrorClass.RATE_LIMITED:
      return "rate_limit_error";
    case ErrorClass.AUTH:
      return status === 403 ? "permission_error" : "authentication_error";
    case ErrorClass.BAD_REQUEST:
      return status === 404 ? "not_found_error" : "invalid_request_error";
    default:
      return "api_error";
  }
}

/**
 * An ElevenLabs error → OpenAI's shape, keeping the status and ElevenLabs'
 * message; its `detail.status` becomes the `code` and names the class when it
 * is known (quota_exceeded → quota exhausted, even on a 401), else the status
 * does (401/403 auth, 429 rate limited, 5xx unavailable, 400/404/422 bad request).
 * A quota error ElevenLabs sends as 401/403 reaches the client as 429, the
 * status OpenAI uses for insufficient_quota: the client's own key is fine.
 */
export function error(status: number, body: Buffer, _headers?: IncomingHttpHeaders): TranslatedError {
  const { code, message } = detailOf(body.subarray(0, MAX_ERROR_TEXT).toString("utf8"));
  const errorClass = (code !== undefined ? BY_STATUS.get(code) : undefined) ?? classifyStatus(status);
  const quota = errorClass === ErrorClass.QUOTA_EXHAUSTED && (status === 401 || status === 403);
  return {
    status: quota ? 429 : status,
    body: JSON.stringify({
      error: {
        message: message ?? `upstream provider returned HTTP ${status}`,
        type: typeOf(errorClass, status),
        param: null,
        code: code ?? (message === undefined ? "upstream_error" : null),
      },
    }),
    errorClass,
  };
}
