import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Account } from "../handlers/account.js";
import { className } from "../routing/actions.js";
import type { AttemptResult } from "../routing/engine.js";
import type { CompiledTarget } from "../table/compile.js";
import type { AttemptTrace, RequestObserver, RequestTrace } from "./observer.js";
import { ATTR, OPERATIONS, ROUTES } from "./span-attributes.js";
import { parentContext } from "./traceparent.js";

const NO_ATTEMPT: AttemptTrace = { end: () => {} };
const NO_TRACE: RequestTrace = {
  authenticated: () => {},
  attempt: () => NO_ATTEMPT,
  committed: () => {},
  finish: () => {},
};

/**
 * Whether a request (or stream) that ended with this status and error code
 * failed on the gateway's or a provider's side: any 5xx, or an error code
 * despite a success status. 4xx answers (the caller's mistake, a limit, a
 * client that went away: 499) leave the span status unset, as the HTTP
 * semantic conventions ask of server spans; their error code is still recorded.
 */
export function isServerError(status: number, code: string): boolean {
  return status >= 500 || (status < 400 && code !== "");
}

function failed(span: Span, code: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/**
 * A request observer producing OpenTelemetry spans with `tracer`: a SERVER
 * span per request (continuing the caller's trace when it sent a valid
 * `traceparent`), with children "authenticate", one CLIENT span per provider
 * attempt, and "stream" for the relay of a committed stream. A request the
 * sampler drops costs one non-recording span and nothing else.
 */
export function createTraceObserver(tracer: Tracer): RequestObserver {
  return {
    start(a) {
      const route = ROUTES[a.requestType];
      const operation = OPERATIONS[a.requestType];
      const attributes: Attributes = { [ATTR.requestId]: a.requestId, [ATTR.requestType]: a.requestType };
      if (route) {
        attributes[ATTR.httpMethod] = "POST";
        attributes[ATTR.httpRoute] = route;
      }
      if (operation) attributes[ATTR.genAiOperation] = operation;
      const name = route ? `POST ${route}` : `llm-gateway ${a.requestType}`;
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.SERVER, attributes },
        parentContext(a.traceparent),
      );
      if (!span.isRecording()) return NO_TRACE;
      return requestTrace(tracer, span, operation);
    },
  };
}

function requestTrace(tracer: Tracer, span: Span, operation: string | undefined): RequestTrace {
  const ctx = trace.setSpan(ROOT_CONTEXT, span);
  let auth: Span | undefined = tracer.startSpan("authenticate", { kind: SpanKind.INTERNAL }, ctx);
  let stream: Span | undefined;
  let attempts = 0;
  return {
    authenticated(a) {
      if (!auth) return;
      if (a.key) auth.setAttribute(ATTR.orgId, a.key.orgId);
      auth.end();
      auth = undefined;
    },
    attempt(_a, target) {
      attempts++;
      const s = tracer.startSpan(
        `attempt ${target.credential.provider.id}`,
        { kind: SpanKind.CLIENT, attributes: attemptAttributes(target, attempts, operation) },
        ctx,
      );
      return { end: (result) => endAttempt(s, result) };
    },
    committed(a) {
      if (a.streamed && !stream) stream = tracer.startSpan("stream", { kind: SpanKind.INTERNAL }, ctx);
    },
    finish(a, status, code) {
      if (auth) {
        // Never authenticated: the request ended there (a bad key, or the caller left).
        if (code) {
          auth.setAttribute(ATTR.errorType, code);
          failed(auth, code);
        }
        auth.end();
        auth = undefined;
      }
      if (stream) {
        endStream(stream, a, status, code);
        stream = undefined;
      }
      span.setAttributes(requestAttributes(a, status, code));
      if (isServerError(status, code)) failed(span, code || `status ${status}`);
      span.end();
    },
  };
}

function providerAttributes(target: CompiledTarget, out: Attributes): Attributes {
  const provider = target.credential.provider.id;
  out[ATTR.provider] = provider;
  out[ATTR.genAiSystem] = provider;
  out[ATTR.genAiProviderName] = provider;
  out[ATTR.credentialId] = target.credential.id;
  return out;
}

function attemptAttributes(target: CompiledTarget, n: number, operation: string | undefined): Attributes {
  const out = providerAttributes(target, {
    [ATTR.attempt]: n,
    [ATTR.upstreamModel]: target.upstreamModel,
    [ATTR.genAiRequestModel]: target.upstreamModel,
  });
  if (operation) out[ATTR.genAiOperation] = operation;
  return out;
}

function endAttempt(s: Span, result: AttemptResult<unknown>): void {
  if (result.ok) {
    s.setAttribute(ATTR.attemptResult, "ok");
  } else if ("failure" in result) {
    // The failure's body is never recorded: a provider's message may quote the credential.
    const f = result.failure;
    s.setAttributes({
      [ATTR.attemptResult]: "error",
      [ATTR.errorClass]: className(f.errorClass),
      [ATTR.errorCode]: f.code,
      [ATTR.errorType]: f.code,
    });
    if (f.upstreamStatus > 0) s.setAttribute(ATTR.httpStatus, f.upstreamStatus);
    if (f.retryAfterMs !== undefined) s.setAttribute(ATTR.retryAfterMs, f.retryAfterMs);
    failed(s, f.code);
  } else {
    s.setAttribute(ATTR.attemptResult, "aborted");
  }
  s.end();
}

function endStream(s: Span, a: Account, status: number, code: string): void {
  if (a.ttftMs > 0) {
    s.setAttribute(ATTR.ttftMs, a.ttftMs);
    // a.started + a.ttftMs is a performance.now() time, which the SDK maps onto the span's clock.
    s.addEvent("first_token", a.started + a.ttftMs);
  }
  s.setAttribute(ATTR.httpStatus, status);
  if (code) {
    s.setAttribute(ATTR.errorCode, code);
    s.setAttribute(ATTR.errorType, code);
  }
  if (isServerError(status, code)) failed(s, code || `status ${status}`);
  s.end();
}

function requestAttributes(a: Account, status: number, code: string): Attributes {
  const out: Attributes = {
    [ATTR.httpStatus]: status,
    [ATTR.streamed]: a.streamed,
    [ATTR.attempts]: a.attempts,
    [ATTR.fallbackDepth]: a.fallbackDepth,
  };
  if (a.key) out[ATTR.orgId] = a.key.orgId;
  if (a.model) {
    out[ATTR.requestedModel] = a.model;
    out[ATTR.genAiRequestModel] = a.model;
  }
  const target = a.target;
  if (target) {
    // On a failure: the target tried last.
    providerAttributes(target, out);
    if (status < 400) {
      out[ATTR.servedModel] = target.upstreamModel;
      out[ATTR.genAiResponseModel] = target.upstreamModel;
    }
  }
  if (code) {
    out[ATTR.errorCode] = code;
    out[ATTR.errorType] = code;
  }
  if (a.errorClass !== ErrorClass.UNSPECIFIED) out[ATTR.errorClass] = className(a.errorClass);
  const u = a.usage;
  if (u) {
    out[ATTR.genAiInputTokens] = u.promptTokens;
    out[ATTR.genAiOutputTokens] = u.completionTokens;
    if (u.cachedTokens > 0) out[ATTR.cachedTokens] = u.cachedTokens;
    if (u.reasoningTokens > 0) out[ATTR.reasoningTokens] = u.reasoningTokens;
  }
  if (a.costUsd > 0) out[ATTR.costUsd] = a.costUsd;
  return out;
}
