import type { ServerResponse } from "node:http";

/** OpenAI error `type` values, which SDKs map to their typed errors together with the status. */
export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error";

interface ErrorSpec {
  status: number;
  type: OpenAIErrorType;
}

/**
 * Every error a client of the worker can see, by stable code. docs/errors.md
 * lists the same table and a test keeps the two in step.
 */
export const ERROR_CODES = {
  invalid_api_key: { status: 401, type: "authentication_error" },
  permission_denied: { status: 403, type: "permission_error" },
  not_found: { status: 404, type: "not_found_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  model_unavailable: { status: 503, type: "api_error" },
  unsupported_endpoint: { status: 400, type: "invalid_request_error" },
  gateway_not_ready: { status: 503, type: "api_error" },
  upstream_unreachable: { status: 502, type: "api_error" },
  upstream_timeout: { status: 504, type: "api_error" },
  upstream_error: { status: 502, type: "api_error" },
  upstream_auth_failed: { status: 502, type: "api_error" },
  upstream_malformed_response: { status: 502, type: "api_error" },
  upstream_rate_limited: { status: 429, type: "rate_limit_error" },
  upstream_unavailable: { status: 503, type: "api_error" },
  internal_error: { status: 500, type: "api_error" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error the worker answers with, in OpenAI's shape. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: OpenAIErrorType;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    status?: number,
  ) {
    super(message);
    this.status = status ?? ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
  }
}

export function errorBody(type: string, message: string, code: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

/** Writes the error unless headers were already sent (then the caller ends the stream its own way). */
export function sendError(
  res: ServerResponse,
  err: GatewayError,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const body = errorBody(err.type, err.message, err.code, err.param);
  res.writeHead(err.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
