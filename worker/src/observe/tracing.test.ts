import type { IncomingMessage } from "node:http";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { startOtlpReceiver } from "../../../test/helpers/otlp-receiver.js";
import { type Account, openAccount } from "../handlers/account.js";
import type { AttemptFailure } from "../routing/engine.js";
import type { CompiledTarget } from "../table/compile.js";
import type { KeyRecord } from "../table/routing-table.js";
import { NO_OBSERVER, type RequestObserver } from "./observer.js";
import { createTraceObserver } from "./trace-observer.js";
import { createTracing } from "./tracing.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const KEY: KeyRecord = { id: "key-1", orgId: "org-1", userId: "user-1", expiresAt: Number.POSITIVE_INFINITY };

function target(credentialId: string, provider: string, upstreamModel: string): CompiledTarget {
  return {
    credential: { id: credentialId, orgId: "org-1", provider: { id: provider } },
    upstreamModel,
    weight: 1,
    cumulative: 1,
  } as unknown as CompiledTarget;
}

function account(requestType = "chat", headers: Record<string, string> = {}): Account {
  return openAccount({ headers } as unknown as IncomingMessage, requestType);
}

const failure = (f: Partial<AttemptFailure>): AttemptFailure => ({
  errorClass: ErrorClass.UNAVAILABLE,
  status: 503,
  body: '{"error":{"message":"secret sk-provider-123"}}',
  code: "upstream_unavailable",
  upstreamStatus: 503,
  ...f,
});

function inMemory(sampler: Sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() })) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const observer: RequestObserver = createTraceObserver(provider.getTracer("test"));
  const spans = () => exporter.getFinishedSpans();
  const byName = (name: string): ReadableSpan => {
    const s = spans().find((x) => x.name === name);
    if (!s) throw new Error(`no span ${name} among ${spans().map((x) => x.name)}`);
    return s;
  };
  return { observer, spans, byName };
}

/** Runs a request through the hooks the way the handlers do. */
function authenticate(observer: RequestObserver, a: Account) {
  const t = observer.start(a);
  a.key = KEY;
  t.authenticated(a);
  return t;
}

describe("trace observer", () => {
  it("a chat: server span with authenticate and attempt children, and its attributes", () => {
    const { observer, spans, byName } = inMemory();
    const a = account();
    const t = authenticate(observer, a);
    a.model = "gpt-public";
    const cred = target("cred-1", "openai", "gpt-4o");
    t.attempt(a, cred).end({ ok: true, value: {} });
    a.target = cred;
    a.attempts = 1;
    a.usage = { promptTokens: 12, completionTokens: 34, cachedTokens: 0, reasoningTokens: 0 };
    t.committed(a);
    t.finish(a, 200, "");

    expect(spans().map((s) => s.name)).toEqual([
      "authenticate",
      "attempt openai",
      "POST /v1/chat/completions",
    ]);
    const root = byName("POST /v1/chat/completions");
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(root.attributes).toMatchObject({
      "llm_gateway.request_id": a.requestId,
      "llm_gateway.request_type": "chat",
      "llm_gateway.org_id": "org-1",
      "llm_gateway.requested_model": "gpt-public",
      "llm_gateway.served_model": "gpt-4o",
      "llm_gateway.provider": "openai",
      "llm_gateway.credential_id": "cred-1",
      "llm_gateway.streamed": false,
      "llm_gateway.attempts": 1,
      "llm_gateway.fallback_depth": 0,
      "http.request.method": "POST",
      "http.route": "/v1/chat/completions",
      "http.response.status_code": 200,
      "gen_ai.operation.name": "chat",
      "gen_ai.system": "openai",
      "gen_ai.request.model": "gpt-public",
      "gen_ai.response.model": "gpt-4o",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 34,
    });
    expect(root.attributes["error.type"]).toBeUndefined();
    for (const name of ["authenticate", "attempt openai"]) {
      const child = byName(name);
      expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    const attempt = byName("attempt openai");
    expect(attempt.kind).toBe(SpanKind.CLIENT);
    expect(attempt.attributes).toMatchObject({
      "llm_gateway.attempt": 1,
      "llm_gateway.attempt.result": "ok",
      "llm_gateway.credential_id": "cred-1",
      "llm_gateway.upstream_model": "gpt-4o",
      "gen_ai.request.model": "gpt-4o",
    });
    // No stream span for a JSON answer.
    expect(spans().some((s) => s.name === "stream")).toBe(false);
  });

  it("a failover: an error attempt then an ok one; no failure body recorded", () => {
    const { observer, spans, byName } = inMemory();
    const a = account("messages");
    const t = authenticate(observer, a);
    const first = target("cred-a", "anthropic", "claude-a");
    const second = target("cred-b", "openai", "gpt-b");
    t.attempt(a, first).end({ ok: false, failure: failure({ retryAfterMs: 1500 }) });
    t.attempt(a, second).end({ ok: true, value: {} });
    Object.assign(a, { target: second, attempts: 2, fallbackDepth: 1 });
    t.finish(a, 200, "");

    const attempts = spans().filter((s) => s.name.startsWith("attempt "));
    expect(attempts.map((s) => s.attributes["llm_gateway.attempt"])).toEqual([1, 2]);
    const failed = byName("attempt anthropic");
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: "upstream_unavailable" });
    expect(failed.attributes).toMatchObject({
      "llm_gateway.attempt.result": "error",
      "llm_gateway.error_class": "unavailable",
      "error.type": "upstream_unavailable",
      "http.response.status_code": 503,
      "llm_gateway.retry_after_ms": 1500,
    });
    const root = byName("POST /v1/messages");
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(root.attributes).toMatchObject({ "llm_gateway.attempts": 2, "llm_gateway.fallback_depth": 1 });
    expect(JSON.stringify(spans().map((s) => [s.attributes, s.status, s.events]))).not.toContain(
      "sk-provider",
    );
  });

  it("a stream: a stream span from commit to finish with time to first token", () => {
    const { observer, byName } = inMemory();
    const a = account();
    const t = authenticate(observer, a);
    a.streamed = true;
    t.attempt(a, target("cred-1", "openai", "gpt-4o")).end({ ok: true, value: {} });
    t.committed(a);
    a.ttftMs = performance.now() - a.started;
    t.finish(a, 200, "");
    const stream = byName("stream");
    const root = byName("POST /v1/chat/completions");
    expect(stream.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(stream.attributes["llm_gateway.time_to_first_token_ms"]).toBe(a.ttftMs);
    expect(stream.events.map((e) => e.name)).toEqual(["first_token"]);
    expect(root.attributes["llm_gateway.streamed"]).toBe(true);
  });

  it("a stream broken after the commit: stream and request spans in error", () => {
    const { observer, byName } = inMemory();
    const a = account();
    const t = authenticate(observer, a);
    a.streamed = true;
    t.committed(a);
    a.errorClass = ErrorClass.UNAVAILABLE;
    t.finish(a, 502, "upstream_error");
    expect(byName("stream").status.code).toBe(SpanStatusCode.ERROR);
    const root = byName("POST /v1/chat/completions");
    expect(root.status).toEqual({ code: SpanStatusCode.ERROR, message: "upstream_error" });
    expect(root.attributes).toMatchObject({
      "error.type": "upstream_error",
      "llm_gateway.error_code": "upstream_error",
      "llm_gateway.error_class": "unavailable",
    });
  });

  it("an unauthenticated request: authenticate fails, the 401 leaves the server span unset", () => {
    const { observer, byName } = inMemory();
    const a = account("embeddings");
    observer.start(a).finish(a, 401, "invalid_api_key");
    expect(byName("authenticate").status.code).toBe(SpanStatusCode.ERROR);
    const root = byName("POST /v1/embeddings");
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    expect(root.attributes["error.type"]).toBe("invalid_api_key");
    expect(root.attributes["llm_gateway.org_id"]).toBeUndefined();
  });

  it("continues a caller's sampled trace; follows its unsampled flag; ignores a malformed header", () => {
    const { observer, spans } = inMemory(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const sampled = account("chat", { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    observer.start(sampled).finish(sampled, 200, "");
    const root = spans().find((s) => s.kind === SpanKind.SERVER);
    expect(root?.spanContext().traceId).toBe(TRACE_ID);
    expect(root?.parentSpanContext?.spanId).toBe(PARENT_ID);

    const before = spans().length;
    const unsampled = account("chat", { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
    observer.start(unsampled).finish(unsampled, 200, "");
    expect(spans().length).toBe(before);

    const malformed = account("chat", { traceparent: "00-nothex-00f067aa0ba902b7-01" });
    observer.start(malformed).finish(malformed, 200, "");
    const last = spans().at(-1);
    expect(last?.spanContext().traceId).not.toBe(TRACE_ID);
    expect(last?.parentSpanContext).toBeUndefined();
  });

  it("a sample ratio of 0 records nothing", () => {
    const { observer, spans } = inMemory(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }));
    for (let i = 0; i < 20; i++) {
      const a = account();
      const t = authenticate(observer, a);
      t.attempt(a, target("c", "openai", "m")).end({ ok: true, value: {} });
      t.finish(a, 200, "");
    }
    expect(spans()).toEqual([]);
  });
});

describe("createTracing", () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("without an endpoint: the no-op observer", async () => {
    const tracing = await createTracing({ endpoint: undefined, serviceName: "x", sampleRatio: 1 });
    expect(tracing.observer).toBe(NO_OBSERVER);
    await tracing.shutdown();
  });

  it("exports OTLP/HTTP JSON with the service name, flushed by shutdown", async () => {
    const receiver = await startOtlpReceiver();
    closers.push(() => receiver.close());
    const tracing = await createTracing({ endpoint: receiver.url, serviceName: "gw-test", sampleRatio: 1 });
    const a = account();
    const t = authenticate(tracing.observer, a);
    t.finish(a, 200, "");
    expect(receiver.requests).toEqual([]); // batched, not sent per span
    await tracing.shutdown();
    expect(receiver.requests.map((r) => [r.path, r.contentType])).toEqual([
      ["/v1/traces", "application/json"],
    ]);
    const spans = receiver.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(["POST /v1/chat/completions", "authenticate"]);
    expect(spans[0]?.resource["service.name"]).toBe("gw-test");
  });

  it("shutdown gives up on a collector that does not answer", async () => {
    const tracing = await createTracing({
      endpoint: "http://127.0.0.1:9/v1/traces",
      serviceName: "x",
      sampleRatio: 1,
    });
    const a = account();
    authenticate(tracing.observer, a).finish(a, 200, "");
    const t0 = performance.now();
    await tracing.shutdown();
    expect(performance.now() - t0).toBeLessThan(6000);
  });
});
