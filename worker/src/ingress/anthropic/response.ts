type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** OpenAI finish_reason → Anthropic stop_reason. */
export function stopReason(finish: unknown): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** A message id in Anthropic's style, derived from the completion's id. */
export function messageId(id: unknown): string {
  const base = typeof id === "string" && id ? id.replace(/^chatcmpl-/, "") : "gateway";
  return base.startsWith("msg_") ? base : `msg_${base}`;
}

/** OpenAI usage → Anthropic usage (input_tokens excludes cache reads, as Anthropic counts them). */
export function anthropicUsage(usage: unknown): Json {
  const u = isObject(usage) ? usage : {};
  const prompt = typeof u.prompt_tokens === "number" ? u.prompt_tokens : 0;
  const details = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cached = typeof details.cached_tokens === "number" ? details.cached_tokens : 0;
  return {
    input_tokens: Math.max(0, prompt - cached),
    output_tokens: typeof u.completion_tokens === "number" ? u.completion_tokens : 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** Tool-call arguments (a JSON string) as the object Anthropic's `input` must be. */
export function toolInput(args: unknown): unknown {
  if (typeof args !== "string" || args.trim() === "") return {};
  try {
    const parsed = JSON.parse(args) as unknown;
    return isObject(parsed) ? parsed : { value: parsed };
  } catch {
    return { raw: args };
  }
}

/** An OpenAI `chat.completion` → an Anthropic `message`; undefined when it is not one. */
export function toMessage(completion: Json, requestedModel: string): Json | undefined {
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (!isObject(choice) || !isObject(choice.message)) return undefined;
  const message = choice.message;
  const content: Json[] = [];
  if (typeof message.content === "string" && message.content !== "") {
    content.push({ type: "text", text: message.content });
  }
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObject(call) || !isObject(call.function)) continue;
    content.push({
      type: "tool_use",
      id: String(call.id ?? ""),
      name: String(call.function.name ?? ""),
      input: toolInput(call.function.arguments),
    });
  }
  return {
    id: messageId(completion.id),
    type: "message",
    role: "assistant",
    model: typeof completion.model === "string" ? completion.model : requestedModel,
    content,
    stop_reason: stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(completion.usage),
  };
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  529: "overloaded_error",
};

/** Anthropic's error body for a status and message. */
export function anthropicError(status: number, message: string): string {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return JSON.stringify({ type: "error", error: { type, message } });
}

/** An OpenAI-shaped error body (the gateway's, or a provider's) → Anthropic's shape. */
export function fromOpenAIError(status: number, body: string): string {
  let message = `the gateway answered HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
  } catch {
    // keep the generic message
  }
  return anthropicError(status, message);
}
