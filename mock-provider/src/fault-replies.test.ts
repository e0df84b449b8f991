import OpenAI from "openai";
import { request } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MALFORMED_SSE, PARTIAL_CHAT_JSON, PARTIAL_EMBEDDINGS_JSON } from "./fault-replies.js";
import { type MockProvider, startMockProvider } from "./server.js";

let mock: MockProvider;

beforeAll(async () => {
  mock = await startMockProvider({ chunkCount: 4 });
});
afterAll(() => mock.close());
beforeEach(() => mock.clearFaults());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The error that cut the body short, if any. */
  error: unknown;
}

/** POSTs JSON and reads the body as far as it goes; throws only when no response arrives. */
async function post(path: string, body: object, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(`${mock.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-test", ...headers },
    body: JSON.stringify(body),
  });
  let text = "";
  let error: unknown;
  try {
    for await (const chunk of res.body) text += String(chunk);
  } catch (caught) {
    error = caught;
  }
  return { status: res.statusCode, headers: res.headers, text, error };
}

const chat = (extra: object = {}) =>
  post("/chat/completions", { model: "mock-small", messages: [{ role: "user", content: "hi" }], ...extra });
const streamChat = () => chat({ stream: true });

/** The data payloads of an SSE body, in order. */
const events = (text: string) =>
  text
    .split("\n\n")
    .filter((frame) => frame.startsWith("data: "))
    .map((frame) => frame.slice("data: ".length));
const contents = (text: string) =>
  events(text)
    .filter((data) => data.includes('"content":"') && !data.includes('"role"'))
    .map(
      (data) => (JSON.parse(data) as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content,
    );

describe("status faults", () => {
  it("answers with an OpenAI-shaped error and no retry headers by default", async () => {
    mock.setFaults([{ status: 503 }]);
    const reply = await chat();
    expect(reply.status).toBe(503);
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(reply.headers["retry-after"]).toBeUndefined();
    expect(reply.headers["retry-after-ms"]).toBeUndefined();
    expect(JSON.parse(reply.text)).toEqual({
      error: { message: "mock error 503", type: "server_error", param: null, code: null },
    });
  });

  it("overrides type, code and message and sends retry-after and retry-after-ms verbatim", async () => {
    mock.setFaults([
      {
        status: 429,
        errorType: "tokens",
        errorCode: "quota_exceeded",
        message: "slow down",
        retryAfter: "7",
        retryAfterMs: 1500,
      },
    ]);
    const reply = await chat();
    expect(reply.status).toBe(429);
    expect(reply.headers["retry-after"]).toBe("7");
    expect(reply.headers["retry-after-ms"]).toBe("1500");
    expect(reply.text).toBe(
      '{"error":{"message":"slow down","type":"tokens","param":null,"code":"quota_exceeded"}}',
    );
  });

  it("sends a raw body as text/html unless it parses as JSON", async () => {
    const html = "<html><body>502 Bad Gateway</body></html>";
    mock.setFaults([
      { status: 502, body: html, match: { model: "html" } },
      { status: 500, body: '{"oops":1}' },
    ]);
    const page = await chat({ model: "html" });
    expect([page.status, page.headers["content-type"], page.text]).toEqual([502, "text/html", html]);
    const json = await chat();
    expect([json.status, json.headers["content-type"], json.text]).toEqual([
      500,
      "application/json",
      '{"oops":1}',
    ]);
  });
});

describe("reset faults", () => {
  it("before-headers destroys the socket with no response", async () => {
    mock.setFaults([{ reset: "before-headers" }]);
    await expect(chat()).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
  });

  it("after-headers on a stream sends 200 SSE headers and no event before the reset", async () => {
    mock.setFaults([{ reset: "after-headers" }]);
    const reply = await streamChat();
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/event-stream");
    expect(reply.text).toBe("");
    expect(reply.error).toMatchObject({ code: "UND_ERR_SOCKET" });
  });

  it("after-headers on a plain request sends 200 and a partial JSON body before the reset", async () => {
    mock.setFaults([{ reset: "after-headers" }]);
    const reply = await chat();
    expect([reply.status, reply.headers["content-type"], reply.text]).toEqual([
      200,
      "application/json",
      PARTIAL_CHAT_JSON,
    ]);
    expect(reply.error).toMatchObject({ code: "UND_ERR_SOCKET" });
  });

  it("mid-stream delivers exactly afterChunks content events, then resets", async () => {
    mock.setFaults([{ match: { stream: true }, reset: "mid-stream", afterChunks: 3, chunkIntervalMs: 5 }]);
    const reply = await streamChat();
    expect(reply.status).toBe(200);
    expect(events(reply.text)).toHaveLength(1 + 3); // role chunk + 3 content chunks
    expect(contents(reply.text)).toEqual(["tok0", " tok1", " tok2"]);
    expect(reply.text).not.toContain('finish_reason":"stop');
    expect(reply.error).toMatchObject({ code: "UND_ERR_SOCKET" });
  });
});

describe("malformed faults", () => {
  it("json: 200 with a truncated body of the declared length, per route", async () => {
    mock.setFaults([{ malformed: "json" }]);
    const reply = await chat();
    expect([reply.status, reply.headers["content-type"], reply.text, reply.error]).toEqual([
      200,
      "application/json",
      PARTIAL_CHAT_JSON,
      undefined,
    ]);
    expect(reply.headers["content-length"]).toBe(String(PARTIAL_CHAT_JSON.length));
    expect(() => JSON.parse(reply.text)).toThrow(SyntaxError);
    const embedding = await post("/embeddings", { model: "e", input: "x" });
    expect([embedding.status, embedding.text]).toEqual([200, PARTIAL_EMBEDDINGS_JSON]);
  });

  it("sse: the first data event is not JSON", async () => {
    mock.setFaults([{ match: { stream: true }, malformed: "sse" }]);
    const reply = await streamChat();
    expect([reply.status, reply.headers["content-type"], reply.text, reply.error]).toEqual([
      200,
      "text/event-stream",
      MALFORMED_SSE,
      undefined,
    ]);
    expect(() => JSON.parse(events(reply.text)[0] ?? "")).toThrow(SyntaxError);
  });

  it("empty: 200 with no body, JSON or SSE as the request expects", async () => {
    mock.setFaults([{ malformed: "empty" }]);
    const plain = await chat();
    expect([
      plain.status,
      plain.headers["content-type"],
      plain.headers["content-length"],
      plain.text,
    ]).toEqual([200, "application/json", "0", ""]);
    const streamed = await streamChat();
    expect([streamed.status, streamed.headers["content-type"], streamed.text, streamed.error]).toEqual([
      200,
      "text/event-stream",
      "",
      undefined,
    ]);
  });
});

describe("stream errors", () => {
  it("sends afterChunks content events, then the error event, and ends without [DONE]", async () => {
    mock.setFaults([
      {
        match: { stream: true },
        streamError: { message: "overloaded", type: "server_error", code: "x" },
        afterChunks: 2,
      },
    ]);
    const reply = await streamChat();
    expect(reply.status).toBe(200);
    expect(reply.error).toBeUndefined();
    expect(contents(reply.text)).toEqual(["tok0", " tok1"]);
    expect(events(reply.text).at(-1)).toBe(
      '{"error":{"message":"overloaded","type":"server_error","param":null,"code":"x"}}',
    );
    expect(events(reply.text)).toHaveLength(1 + 2 + 1);
    expect(reply.text).not.toContain("[DONE]");
  });

  it("defaults to one chunk and a server_error that the OpenAI SDK raises", async () => {
    mock.setFaults([{ match: { stream: true }, streamError: {} }]);
    const reply = await streamChat();
    expect(contents(reply.text)).toEqual(["tok0"]);
    expect(events(reply.text).at(-1)).toBe(
      '{"error":{"message":"mock stream error","type":"server_error","param":null,"code":null}}',
    );
    const client = new OpenAI({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "m", messages: [], stream: true });
    await expect(async () => {
      for await (const _chunk of stream);
    }).rejects.toThrow("mock stream error");
  });
});

describe("timing", () => {
  it("latencyMs alone delays a successful reply by at least that long", async () => {
    mock.setFaults([{ latencyMs: 150 }]);
    const started = performance.now();
    const reply = await chat();
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).choices[0].message.content).toBe("tok0 tok1 tok2 tok3");
  });

  it("latencyMs combines with an outcome", async () => {
    mock.setFaults([{ status: 500, latencyMs: 100 }]);
    const started = performance.now();
    expect((await chat()).status).toBe(500);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
  });

  it("chunks and chunkIntervalMs pace a successful stream", async () => {
    mock.setFaults([{ chunks: 3, chunkIntervalMs: 40 }]);
    const started = performance.now();
    const reply = await streamChat();
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(contents(reply.text)).toEqual(["tok0", " tok1", " tok2"]);
    expect(events(reply.text).at(-1)).toBe("[DONE]");
  });

  it("x-mock-* timing headers win over the rule's timing", async () => {
    mock.setFaults([{ chunks: 3, latencyMs: 5_000 }]);
    const started = performance.now();
    const reply = await post(
      "/chat/completions",
      { model: "m", messages: [] },
      { "x-mock-chunks": "1", "x-mock-latency-ms": "0" },
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(JSON.parse(reply.text).choices[0].message.content).toBe("tok0");
  });
});
