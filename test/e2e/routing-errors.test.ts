import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultRule } from "../../mock-provider/src/faults.js";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * Acceptance 2 of the routing engine: for each error class, through real HTTP
 * against the mock provider, streaming and not, the documented action
 * (retry, skip, fallback, return) happens; and with a healthy target every
 * request succeeds.
 */
const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const { RATE_LIMITED, UNAVAILABLE, TIMEOUT, QUOTA_EXHAUSTED, AUTH } = ErrorClass;
const { CONTEXT_LENGTH_EXCEEDED, MALFORMED_RESPONSE } = ErrorClass;

let gw: TestGateway;
let seq = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    secrets: 120,
    workerEnv: { LLM_GATEWAY_UPSTREAM_HEADERS_TIMEOUT_MS: "400", LLM_GATEWAY_CIRCUIT_OPEN_MS: "60000" },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

/** One chat completion through the SDK; the streamed text is joined. */
async function chat(model: string, stream: boolean): Promise<{ text: string; servedModel: string }> {
  const messages = [{ role: "user" as const, content: "hello" }];
  if (!stream) {
    const c = await gw.openai.chat.completions.create({ model, messages });
    return { text: c.choices[0]?.message.content ?? "", servedModel: c.model };
  }
  const s = await gw.openai.chat.completions.create({ model, messages, stream: true });
  let text = "";
  let servedModel = "";
  for await (const chunk of s) {
    text += chunk.choices[0]?.delta.content ?? "";
    servedModel = chunk.model;
  }
  return { text, servedModel };
}

const calls = (secret: string) => gw.mock.stats().byKey[secret] ?? 0;

/** A primary credential failing with `fault` and a healthy one in a fallback step for `trigger`. */
async function primaryAndFallback(fault: Omit<FaultRule, "match">, trigger: ErrorClass, stream: boolean) {
  const a = await gw.credential();
  const b = await gw.credential();
  const model = `m${++seq}`;
  gw.mock.setFaults([{ ...fault, match: { apiKey: a.secret, ...(stream ? { stream: true } : {}) } }]);
  await gw.route(
    model,
    [{ credentialId: a.id }],
    [{ targets: [{ credentialId: b.id, upstreamModel: "mock-large" }], triggers: [trigger] }],
  );
  return { a, b, model };
}

describe.each([false, true])("error classes (stream: %s)", (stream) => {
  // Every class the engine may act on, with the fault that produces it and the most calls
  // the failing credential may take over 20 requests (1: it is skipped after its first failure).
  const FALLBACK_CASES: Array<[string, Omit<FaultRule, "match">, ErrorClass, number]> = [
    ["rate_limited: 429 with Retry-After", { status: 429, retryAfter: "30" }, RATE_LIMITED, 1],
    ["unavailable: 503", { status: 503 }, UNAVAILABLE, 5],
    ["unavailable: 529 overloaded", { status: 529, errorType: "overloaded_error" }, UNAVAILABLE, 5],
    ["unavailable: connection reset before headers", { reset: "before-headers" }, UNAVAILABLE, 5],
    ["timeout: no headers within the attempt timeout", { latencyMs: 1500 }, TIMEOUT, 5],
    ["quota_exhausted: 402", { status: 402 }, QUOTA_EXHAUSTED, 1],
    [
      "quota_exhausted: 429 insufficient_quota",
      { status: 429, errorCode: "insufficient_quota", errorType: "insufficient_quota" },
      QUOTA_EXHAUSTED,
      1,
    ],
    ["auth: 401", { status: 401 }, AUTH, 1],
    ["auth: 403", { status: 403 }, AUTH, 1],
    [
      "context_length_exceeded: 400 to a larger-context fallback",
      { status: 400, errorCode: "context_length_exceeded" },
      CONTEXT_LENGTH_EXCEEDED,
      20,
    ],
    ["malformed_response", stream ? { malformed: "sse" } : { malformed: "json" }, MALFORMED_RESPONSE, 5],
    ["malformed_response: an empty reply", { malformed: "empty" }, MALFORMED_RESPONSE, 5],
  ];

  it.each(FALLBACK_CASES)(
    "%s: falls back, and all 20 requests succeed",
    async (_name, fault, trigger, max) => {
      const { a, b, model } = await primaryAndFallback(fault, trigger, stream);
      for (let i = 0; i < 20; i++) {
        const r = await chat(model, stream);
        expect(r.text).toBe(EXPECTED);
        expect(r.servedModel).toBe("mock-large");
      }
      expect(calls(b.secret)).toBe(20);
      expect(calls(a.secret)).toBeGreaterThanOrEqual(1);
      expect(calls(a.secret)).toBeLessThanOrEqual(max);
    },
  );

  it("rate_limited: waits out a short Retry-After and calls the same credential again", async () => {
    const a = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([{ match: { apiKey: a.secret }, status: 429, retryAfterMs: 300, times: 1 }]);
    await gw.route(model, [{ credentialId: a.id }]);
    const t0 = performance.now();
    expect((await chat(model, stream)).text).toBe(EXPECTED);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(calls(a.secret)).toBe(2);
  });

  it("rate_limited: returns 429 with Retry-After when the wait is too long and nothing else serves", async () => {
    const a = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([{ match: { apiKey: a.secret }, status: 429, retryAfter: "120" }]);
    await gw.route(model, [{ credentialId: a.id }]);
    const err = await chat(model, stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("120");
    expect(calls(a.secret)).toBe(1);
    // The credential cools down: the next request is refused without calling it.
    await expect(chat(model, stream)).rejects.toMatchObject({ status: 429, code: "upstream_rate_limited" });
    expect(calls(a.secret)).toBe(1);
  });

  it("unavailable: retries the same credential after backoff when it is the only one", async () => {
    const a = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([{ match: { apiKey: a.secret }, status: 502, times: 2 }]);
    await gw.route(model, [{ credentialId: a.id }]);
    expect((await chat(model, stream)).text).toBe(EXPECTED);
    expect(calls(a.secret)).toBe(3);
  });

  it("quota_exhausted and auth: skip to the next credential of the step without retrying", async () => {
    const q = await gw.credential();
    const au = await gw.credential();
    const ok = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([
      { match: { apiKey: q.secret }, status: 402 },
      { match: { apiKey: au.secret }, status: 401, message: `Incorrect API key provided: ${au.secret}` },
    ]);
    await gw.route(model, [{ credentialId: q.id }, { credentialId: au.id }, { credentialId: ok.id }]);
    for (let i = 0; i < 30; i++) expect((await chat(model, stream)).text).toBe(EXPECTED);
    expect(calls(q.secret)).toBeLessThanOrEqual(1);
    expect(calls(au.secret)).toBeLessThanOrEqual(1);
    expect(calls(ok.secret)).toBe(30);
  });

  it("auth: never relays the provider's message (it may quote the provider key)", async () => {
    const a = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([
      { match: { apiKey: a.secret }, status: 401, message: `Incorrect API key provided: ${a.secret}` },
    ]);
    await gw.route(model, [{ credentialId: a.id }]);
    const err = await chat(model, stream).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: "upstream_auth_failed" });
    expect(JSON.stringify((err as InstanceType<typeof OpenAI.APIError>).error)).not.toContain(a.secret);
    // The credential is marked failing: its circuit is open.
    await expect(chat(model, stream)).rejects.toMatchObject({ status: 503, code: "upstream_unavailable" });
    expect(calls(a.secret)).toBe(1);
  });

  it.each<[string, Omit<FaultRule, "match">, string]>([
    ["bad_request", { status: 400, errorCode: "invalid_value" }, "invalid_value"],
    ["content_filter", { status: 400, errorCode: "content_filter" }, "content_filter"],
    [
      "context_length_exceeded without a larger fallback",
      { status: 400, errorCode: "context_length_exceeded" },
      "context_length_exceeded",
    ],
  ])("%s: returned to the client at once, never retried", async (_name, fault, code) => {
    const a = await gw.credential();
    const b = await gw.credential();
    const c = await gw.credential();
    const model = `m${++seq}`;
    gw.mock.setFaults([{ ...fault, match: { apiKey: a.secret } }]);
    // b shares the step (weight 0 would not compile, so give a all the weight): a is always picked first.
    await gw.route(
      model,
      [
        { credentialId: a.id, weight: 1000 },
        { credentialId: b.id, weight: 1 },
      ],
      [{ targets: [{ credentialId: c.id }], triggers: [UNAVAILABLE, RATE_LIMITED] }],
    );
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const err = await chat(model, stream).catch((e: unknown) => e);
      if (err instanceof OpenAI.BadRequestError) {
        expect(err.code).toBe(code);
        refused++;
      }
    }
    expect(refused).toBe(calls(a.secret));
    expect(refused).toBeGreaterThan(15);
    expect(calls(b.secret) + refused).toBe(20); // b only when the weighted pick chose it
    expect(calls(c.secret)).toBe(0);
  });
});
