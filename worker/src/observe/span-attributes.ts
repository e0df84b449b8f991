import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from "@opentelemetry/semantic-conventions";

/**
 * Span attribute names: stable OpenTelemetry semantic conventions where they
 * exist, the (incubating) gen_ai conventions copied here as the semconv
 * package advises for incubating names, and the gateway's own under
 * `llm_gateway.`. Only identifiers, model names, counts, statuses and codes:
 * never prompts, completions, keys, secrets or provider error messages.
 */
export const ATTR = {
  httpMethod: ATTR_HTTP_REQUEST_METHOD,
  httpRoute: ATTR_HTTP_ROUTE,
  httpStatus: ATTR_HTTP_RESPONSE_STATUS_CODE,
  errorType: ATTR_ERROR_TYPE,

  genAiSystem: "gen_ai.system",
  genAiProviderName: "gen_ai.provider.name",
  genAiOperation: "gen_ai.operation.name",
  genAiRequestModel: "gen_ai.request.model",
  genAiResponseModel: "gen_ai.response.model",
  genAiInputTokens: "gen_ai.usage.input_tokens",
  genAiOutputTokens: "gen_ai.usage.output_tokens",

  requestId: "llm_gateway.request_id",
  requestType: "llm_gateway.request_type",
  orgId: "llm_gateway.org_id",
  requestedModel: "llm_gateway.requested_model",
  servedModel: "llm_gateway.served_model",
  provider: "llm_gateway.provider",
  credentialId: "llm_gateway.credential_id",
  upstreamModel: "llm_gateway.upstream_model",
  streamed: "llm_gateway.streamed",
  attempts: "llm_gateway.attempts",
  fallbackDepth: "llm_gateway.fallback_depth",
  errorCode: "llm_gateway.error_code",
  errorClass: "llm_gateway.error_class",
  cachedTokens: "llm_gateway.usage.cached_tokens",
  reasoningTokens: "llm_gateway.usage.reasoning_tokens",
  costUsd: "llm_gateway.cost_usd",
  attempt: "llm_gateway.attempt",
  attemptResult: "llm_gateway.attempt.result",
  upstreamStatus: "llm_gateway.upstream_status_code",
  retryAfterMs: "llm_gateway.retry_after_ms",
  ttftMs: "llm_gateway.time_to_first_token_ms",
} as const;

/** The public route of each request type, for server span names and `http.route`. */
export const ROUTES: Readonly<Record<string, string>> = {
  chat: "/v1/chat/completions",
  messages: "/v1/messages",
  embeddings: "/v1/embeddings",
  speech: "/v1/audio/speech",
};

/** gen_ai.operation.name of the request types that have one. */
export const OPERATIONS: Readonly<Record<string, string>> = {
  chat: "chat",
  messages: "chat",
  embeddings: "embeddings",
};
