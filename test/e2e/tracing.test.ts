import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../helpers/otlp-receiver.js";

/**
 * Traces end to end: an in-process gateway exporting over OTLP/HTTP to a
 * local receiver; a chat, a stream, a failover and an unauthenticated
 * request; the gateway is closed (which flushes the spans) before the
 * assertions. Secrets and prompt/completion text must never be exported.
 */
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const TRACE_ID = randomBytes(16).toString("hex");
const CALLER_SPAN = randomBytes(8).toString("hex");
const PROMPT = `PROMPT-CANARY-${randomBytes(6).toString("hex")}`;
const PROVIDER_MESSAGE = `PROVIDER-CANARY-${randomBytes(6).toString("hex")}`;
const BAD_KEY = `sk-bad-${randomBytes(12).toString("hex")}`;
const ID = {
  chat: `trace-chat-${randomBytes(4).toString("hex")}`,
  stream: `trace-stream-${randomBytes(4).toString("hex")}`,
  failover: `trace-failover-${randomBytes(4).toString("hex")}`,
  unauthenticated: `trace-unauth-${randomBytes(4).toString("hex")}`,
};

let receiver: OtlpReceiver;
let gw: TestGateway | undefined;
let secrets: string[] = [];
let spans: ReceivedSpan[] = [];
let cred: { primary: string; failing: string; fallback: string };
let orgId = "";

const messages = [{ role: "user" as const, content: `Say hello. ${PROMPT}` }];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const g = await startTestGateway({
    workerEnv: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "llm-gateway-e2e",
      LLM_GATEWAY_TRACE_SAMPLE_RATIO: "1",
      LLM_GATEWAY_TRUST_REQUEST_ID: "true",
    },
  });
  gw = g;
  orgId = g.orgId;
  const primary = await g.credential();
  const failing = await g.credential();
  const fallback = await g.credential();
  cred = { primary: primary.id, failing: failing.id, fallback: fallback.id };
  secrets = [g.apiKey, primary.secret, failing.secret, fallback.secret, g.cp.workerToken, g.cp.adminKey];
  await g.route("traced", [{ credentialId: primary.id }]);
  g.mock.setFaults([{ match: { apiKey: failing.secret }, status: 503, message: PROVIDER_MESSAGE }]);
  await g.route(
    "failover",
    [{ credentialId: failing.id }],
    [
      {
        targets: [{ credentialId: fallback.id, upstreamModel: "mock-large" }],
        triggers: [ErrorClass.UNAVAILABLE],
      },
    ],
  );

  const traceparent = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
  const chat = await g.openai.chat.completions.create(
    { model: "traced", messages },
    { headers: { "x-request-id": ID.chat, traceparent } },
  );
  expect(chat.choices[0]?.message.content).toContain("tok0");
  const stream = await g.openai.chat.completions.create(
    { model: "traced", messages, stream: true, stream_options: { include_usage: true } },
    { headers: { "x-request-id": ID.stream } },
  );
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  expect(text).toContain("tok0");
  const failover = await g.openai.chat.completions.create(
    { model: "failover", messages },
    { headers: { "x-request-id": ID.failover } },
  );
  expect(failover.model).toBe("mock-large");
  const refused = await fetch(`${g.worker.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${BAD_KEY}`,
      "content-type": "application/json",
      "x-request-id": ID.unauthenticated,
    },
    body: JSON.stringify({ model: "traced", messages }),
  });
  expect(refused.status).toBe(401);

  await g.close(); // flushes the batched spans
  gw = undefined;
  spans = receiver.spans();
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

function serverSpan(requestId: string): ReceivedSpan {
  const found = spans.filter(
    (s) => s.kind === SERVER && s.attributes["llm_gateway.request_id"] === requestId,
  );
  expect(found).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

const childrenOf = (parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

describe("tracing over OTLP/HTTP", () => {
  it("exports JSON to the configured endpoint with the service name", () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const r of receiver.requests) {
      expect(r.path).toBe("/v1/traces");
      expect(r.contentType).toBe("application/json");
    }
    expect(new Set(spans.map((s) => s.resource["service.name"]))).toEqual(new Set(["llm-gateway-e2e"]));
  });

  it("a chat: server span continuing the caller's trace, authenticate and one attempt", () => {
    const root = serverSpan(ID.chat);
    expect(root.name).toBe("POST /v1/chat/completions");
    expect(root.traceId).toBe(TRACE_ID);
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.status.code).not.toBe(ERROR);
    expect(root.attributes).toMatchObject({
      "llm_gateway.request_type": "chat",
      "llm_gateway.org_id": orgId,
      "llm_gateway.requested_model": "traced",
      "llm_gateway.served_model": "mock-small",
      "llm_gateway.provider": "openai-compatible",
      "llm_gateway.credential_id": cred.primary,
      "llm_gateway.streamed": false,
      "llm_gateway.attempts": 1,
      "llm_gateway.fallback_depth": 0,
      "http.response.status_code": 200,
      "gen_ai.system": "openai-compatible",
      "gen_ai.request.model": "traced",
      "gen_ai.response.model": "mock-small",
    });
    expect(root.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(root.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    const children = childrenOf(root);
    expect(children.map((s) => s.name).sort()).toEqual(["attempt openai-compatible", "authenticate"]);
    const attempt = children.find((s) => s.kind === CLIENT);
    expect(attempt?.attributes).toMatchObject({
      "llm_gateway.attempt.result": "ok",
      "llm_gateway.credential_id": cred.primary,
      "llm_gateway.upstream_model": "mock-small",
    });
  });

  it("a stream: a stream span with time to first token, after the attempt", () => {
    const root = serverSpan(ID.stream);
    expect(root.traceId).not.toBe(TRACE_ID);
    expect(root.parentSpanId).toBe("");
    expect(root.attributes["llm_gateway.streamed"]).toBe(true);
    expect(root.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);
    const children = childrenOf(root);
    expect(children.map((s) => s.name).sort()).toEqual([
      "attempt openai-compatible",
      "authenticate",
      "stream",
    ]);
    const stream = children.find((s) => s.name === "stream") as ReceivedSpan;
    expect(stream.attributes["llm_gateway.time_to_first_token_ms"]).toBeGreaterThan(0);
    expect(stream.events.map((e) => e.name)).toEqual(["first_token"]);
    const attempt = children.find((s) => s.kind === CLIENT) as ReceivedSpan;
    // Each span anchors its clock on Date.now() at its start (1 ms steps) and runs on the monotonic
    // clock from there; the two clocks also move against each other on this VM (Date.now() minus
    // performance.timeOrigin + now() spanned 1.8 ms in 5 s idle; a CI run saw 2.46 ms between two
    // spans of one request). So spans of one request line up to a few ms, not to the microsecond.
    const SKEW_MS = 5;
    const ms = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;
    expect(ms(stream.startTimeUnixNano)).toBeGreaterThanOrEqual(ms(attempt.endTimeUnixNano) - SKEW_MS);
    expect(ms(stream.endTimeUnixNano)).toBeLessThanOrEqual(ms(root.endTimeUnixNano) + SKEW_MS);
  });

  it("a failover: a failed attempt on the primary, then the fallback serves", () => {
    const root = serverSpan(ID.failover);
    expect(root.status.code).not.toBe(ERROR);
    expect(root.attributes).toMatchObject({
      "llm_gateway.attempts": 2,
      "llm_gateway.fallback_depth": 1,
      "llm_gateway.credential_id": cred.fallback,
      "llm_gateway.served_model": "mock-large",
    });
    const attempts = childrenOf(root)
      .filter((s) => s.kind === CLIENT)
      .sort(
        (a, b) => Number(a.attributes["llm_gateway.attempt"]) - Number(b.attributes["llm_gateway.attempt"]),
      );
    expect(attempts.map((s) => s.attributes["llm_gateway.credential_id"])).toEqual([
      cred.failing,
      cred.fallback,
    ]);
    expect(attempts[0]?.status.code).toBe(ERROR);
    expect(attempts[0]?.attributes).toMatchObject({
      "llm_gateway.attempt.result": "error",
      "llm_gateway.error_class": "unavailable",
      "http.response.status_code": 503,
    });
    expect(attempts[1]?.attributes).toMatchObject({
      "llm_gateway.attempt.result": "ok",
      "llm_gateway.upstream_model": "mock-large",
    });
  });

  it("an unauthenticated request: a failed authenticate span, no attempt", () => {
    const root = serverSpan(ID.unauthenticated);
    expect(root.attributes["http.response.status_code"]).toBe(401);
    expect(root.attributes["error.type"]).toEqual(expect.any(String));
    const children = childrenOf(root);
    expect(children.map((s) => s.name)).toEqual(["authenticate"]);
    expect(children[0]?.status.code).toBe(ERROR);
  });

  it("never exports keys, secrets, prompts, completions or provider messages", () => {
    const payload = receiver.requests.map((r) => r.body).join("\n");
    for (const secret of [...secrets, BAD_KEY]) expect(payload).not.toContain(secret);
    expect(payload).not.toContain(PROMPT);
    expect(payload).not.toContain("Say hello");
    expect(payload).not.toContain("tok0");
    expect(payload).not.toContain(PROVIDER_MESSAGE);
  });
});

describe("tracing unconfigured", () => {
  it("sends nothing, even with an OTLP endpoint in the process environment", async () => {
    const other = await startOtlpReceiver();
    const saved = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = other.url;
    try {
      const g = await startTestGateway();
      try {
        const c = await g.credential();
        await g.route("plain", [{ credentialId: c.id }]);
        await g.openai.chat.completions.create({ model: "plain", messages });
      } finally {
        await g.close();
      }
      expect(other.requests).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved;
      await other.close();
    }
  }, 60_000);
});
