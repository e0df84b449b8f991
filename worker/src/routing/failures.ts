import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { ERROR_CODES, type ErrorCode, errorBody, GatewayError } from "../http/errors.js";

/** A failed attempt, as the engine decides on it and as the client gets it if it is the last. */
export interface AttemptFailure {
  errorClass: ErrorClass;
  /** Status and OpenAI-shaped JSON body for the client. */
  status: number;
  body: string;
  /** Stable error code for usage events and metrics. */
  code: string;
  /** The provider's Retry-After, in ms. */
  retryAfterMs?: number | undefined;
  /** The provider's HTTP status; 0 when no response arrived. */
  upstreamStatus: number;
}

/** A failure the gateway states itself (no usable provider answer), from the error table. */
export function gatewayFailure(
  errorClass: ErrorClass,
  code: ErrorCode,
  message: string,
  upstreamStatus = 0,
  retryAfterMs?: number,
): AttemptFailure {
  const spec = ERROR_CODES[code];
  return {
    errorClass,
    status: spec.status,
    body: errorBody(spec.type, message, code),
    code,
    retryAfterMs,
    upstreamStatus,
  };
}

/** No attempt could be made: every target is disabled, cooling down or behind an open circuit. */
export function noTargetFailure(why: ErrorClass, model: string, waitMs: number): AttemptFailure {
  const retryAfterMs = waitMs > 0 ? waitMs : undefined;
  if (why === ErrorClass.DISABLED) {
    return gatewayFailure(
      why,
      "model_unavailable",
      `The model \`${model}\` has no enabled provider credential right now.`,
    );
  }
  if (why === ErrorClass.RATE_LIMITED || why === ErrorClass.QUOTA_EXHAUSTED) {
    return gatewayFailure(
      why,
      "upstream_rate_limited",
      `Every provider credential for \`${model}\` is rate limited right now; retry later.`,
      0,
      retryAfterMs,
    );
  }
  return gatewayFailure(
    why,
    "upstream_unavailable",
    `Every provider credential for \`${model}\` is failing right now; retry later.`,
    0,
    retryAfterMs,
  );
}

export function deadlineFailure(): AttemptFailure {
  return gatewayFailure(ErrorClass.TIMEOUT, "upstream_timeout", "the request deadline passed");
}

/** The target's provider does not serve this endpoint (a route that points embeddings at a chat-only provider). */
export function unsupportedFailure(provider: string, endpoint: string): AttemptFailure {
  return gatewayFailure(
    ErrorClass.BAD_REQUEST,
    "unsupported_endpoint",
    `provider ${provider} does not serve ${endpoint} through the gateway`,
  );
}

/**
 * Builds a provider request, turning an adapter's refusal (a GatewayError:
 * a field the provider cannot express) into a bad-request failure the engine
 * returns to the client, so the attempt still ends with a verdict.
 */
export function buildRequest<T>(
  build: () => T,
): { ok: true; value: T } | { ok: false; failure: AttemptFailure } {
  try {
    return { ok: true, value: build() };
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    const body = errorBody(err.type, err.message, err.code, err.param);
    return {
      ok: false,
      failure: {
        errorClass: ErrorClass.BAD_REQUEST,
        status: err.status,
        body,
        code: err.code,
        upstreamStatus: 0,
      },
    };
  }
}
