import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * Streaming through the routing engine: failover only before the first byte
 * reaches the client, chunk-by-chunk relay, keepalive pings, the usage chunk
 * asked upstream and removed again, mid-stream failures ended with an error
 * event, and every outcome accounted.
 */
const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const { UNAVAILABLE } = ErrorClass;

let gw: TestGateway;
let seq = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    secrets: 40,
    workerEnv: { LLM_GATEWAY_SSE_PING_MS: "150", LLM_GATEWAY_TRUST_REQUEST_ID: "true" },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

interface RawStream {
  requestId: string;
  status: number;
  events: string[];
  /** Milliseconds after the request when each event arrived. */
  times: number[];
  body: string;
}

/** A raw streaming request with fetch: every SSE event and when it arrived. */
async function rawStream(model: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) {
  const requestId = randomUUID();
  const t0 = performance.now();
  const res = await fetch(`${gw.worker.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${gw.apiKey}`,
      "content-type": "application/json",
      "x-request-id": requestId,
    },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hello" }], ...extra }),
    ...(signal ? { signal } : {}),
  });
  const out: RawStream = { requestId, status: res.status, events: [], times: [], body: "" };
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    out.body += text;
    pending += text;
    let at = pending.indexOf("\n\n");
    while (at !== -1) {
      out.events.push(pending.slice(0, at));
      out.times.push(performance.now() - t0);
      pending = pending.slice(at + 2);
      at = pending.indexOf("\n\n");
    }
  }
  return out;
}

const contentOf = (s: RawStream) =>
  s.events
    .filter((e) => e.startsWith("data: {") && !e.includes('"error"'))
    .map(
      (e) =>
        (JSON.parse(e.slice(6)) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta
          ?.content ?? "",
    )
    .join("");

const calls = (secret: string) => gw.mock.stats().byKey[secret] ?? 0;

/** The usage row of a request, once the worker has delivered it. */
async function usageRow(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    await gw.worker.usage.flush();
    const { rows } = await gw.cp.cp.db.query("SELECT * FROM usage_events WHERE request_id = $1", [requestId]);
    if (rows[0]) return rows[0] as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no usage row for ${requestId}`);
}

async function twoCredentials(faultFor: (secret: string) => Parameters<typeof gw.mock.setFaults>[0]) {
  const a = await gw.credential();
  const b = await gw.credential();
  const model = `s${++seq}`;
  gw.mock.setFaults(faultFor(a.secret));
  await gw.route(
    model,
    [{ credentialId: a.id }],
    [{ targets: [{ credentialId: b.id }], triggers: [UNAVAILABLE] }],
  );
  return { a, b, model };
}

describe("streams through the routing engine", () => {
  it("fails over when the provider resets after its headers, before any event", async () => {
    const { a, b, model } = await twoCredentials((k) => [
      { match: { apiKey: k, stream: true }, reset: "after-headers" },
    ]);
    const s = await rawStream(model);
    expect(s.status).toBe(200);
    expect(contentOf(s)).toBe(EXPECTED);
    expect(s.events.at(-1)).toBe("data: [DONE]");
    expect([calls(a.secret), calls(b.secret)]).toEqual([1, 1]);
    const row = await usageRow(s.requestId);
    expect(row).toMatchObject({ status_code: 200, attempts: 2, fallback_depth: 1, credential_id: b.id });
  });

  it("fails over when the provider's first event is an error event", async () => {
    const { b, model } = await twoCredentials((k) => [
      { match: { apiKey: k, stream: true }, streamError: { code: "server_error" }, afterChunks: 0 },
    ]);
    const s = await rawStream(model);
    expect(contentOf(s)).toBe(EXPECTED);
    expect(s.body).not.toContain('"error"');
    expect(calls(b.secret)).toBe(1);
  });

  it("ends a stream that breaks midway with an error event, and accounts it", async () => {
    const { a, b, model } = await twoCredentials((k) => [
      { match: { apiKey: k, stream: true }, reset: "mid-stream", afterChunks: 3 },
    ]);
    const s = await rawStream(model);
    expect(s.status).toBe(200);
    expect(contentOf(s)).toBe("tok0 tok1 tok2");
    const last = JSON.parse((s.events.at(-1) ?? "").slice(6)) as { error: { code: string; type: string } };
    expect(last.error).toMatchObject({ code: "upstream_error", type: "api_error" });
    expect(s.body).not.toContain("[DONE]");
    expect(calls(b.secret)).toBe(0); // no failover once bytes reached the client
    const row = await usageRow(s.requestId);
    expect(row).toMatchObject({
      status_code: 502,
      error_class: "unavailable",
      credential_id: a.id,
      attempts: 1,
    });
  });

  it("passes on an error event the provider sends midway, and accounts it", async () => {
    const { model } = await twoCredentials((k) => [
      {
        match: { apiKey: k, stream: true },
        streamError: { code: "server_error", message: "overloaded" },
        afterChunks: 2,
        // Paced, so the first bytes reach the client before the error (else it fails over).
        chunkIntervalMs: 50,
      },
    ]);
    const s = await rawStream(model);
    expect(contentOf(s)).toBe("tok0 tok1");
    expect(s.events.at(-1)).toContain('"message":"overloaded"');
    const row = await usageRow(s.requestId);
    expect(row).toMatchObject({ status_code: 502, error_class: "unavailable" });
  });

  it("asks the provider for usage and removes the usage chunk the client did not ask for", async () => {
    const { model } = await twoCredentials(() => []);
    const plain = await rawStream(model);
    expect(plain.events.some((e) => /"usage":\{/.test(e))).toBe(false);
    expect(Number((await usageRow(plain.requestId)).completion_tokens)).toBe(8);
    const asked = await rawStream(model, { stream_options: { include_usage: true } });
    expect(asked.events.filter((e) => /"usage":\{/.test(e))).toHaveLength(1);
    expect(Number((await usageRow(asked.requestId)).completion_tokens)).toBe(8);
  });

  it("relays chunk by chunk as they are produced, with pings while the provider is silent", async () => {
    const { model } = await twoCredentials((k) => [
      { match: { apiKey: k, stream: true }, chunks: 4, chunkIntervalMs: 400 },
    ]);
    const s = await rawStream(model);
    const content = s.events
      .map((e, i) => [e, s.times[i] ?? 0] as const)
      .filter(([e]) => e.includes('"content"'));
    expect(content.length).toBeGreaterThanOrEqual(4);
    // The first content arrives at once, the last about 3 x 400 ms later: nothing is buffered.
    const first = content[0]?.[1] ?? 0;
    const lastContent = content.at(-1)?.[1] ?? 0;
    expect(first).toBeLessThan(300);
    expect(lastContent - first).toBeGreaterThan(1000);
    expect(s.events.filter((e) => e === ": ping").length).toBeGreaterThanOrEqual(3);
    expect(contentOf(s)).toBe("tok0 tok1 tok2 tok3");
  });

  it("stops a non-streaming provider call when the client goes away, at once", async () => {
    const { a, model } = await twoCredentials((k) => [{ match: { apiKey: k }, latencyMs: 4000 }]);
    const abort = new AbortController();
    const requestId = randomUUID();
    const sent = fetch(`${gw.worker.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gw.apiKey}`,
        "content-type": "application/json",
        "x-request-id": requestId,
      },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] }),
      signal: abort.signal,
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    abort.abort();
    await expect(sent).rejects.toThrow();
    const row = await usageRow(requestId);
    // accounted when the client left, not when the provider would have answered (4 s)
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(row).toMatchObject({ status_code: 499, error_code: "client_closed", credential_id: a.id });
    const credential = gw.worker.table.findCredential(a.id);
    expect(credential && gw.worker.health.barredBy(credential, Date.now())).toBeUndefined();
  });

  it("stops the provider call when the client goes away, and accounts it as client_closed", async () => {
    const { a, model } = await twoCredentials((k) => [
      { match: { apiKey: k, stream: true }, chunks: 50, chunkIntervalMs: 50 },
    ]);
    const abort = new AbortController();
    const requestId = randomUUID();
    const res = await fetch(`${gw.worker.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${gw.apiKey}`,
        "content-type": "application/json",
        "x-request-id": requestId,
      },
      body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "x" }] }),
      signal: abort.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status_code: 499, error_code: "client_closed", credential_id: a.id });
    // A client leaving is not the provider failing.
    const credential = gw.worker.table.findCredential(a.id);
    expect(credential && gw.worker.health.barredBy(credential, Date.now())).toBeUndefined();
  });
});
