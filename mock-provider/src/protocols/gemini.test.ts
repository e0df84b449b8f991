import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { embeddingVector } from "../openai-shapes.js";
import { type MockProvider, startMockProvider } from "../server.js";

const KEY = "AIza-mock-key";
let mock: MockProvider;
let base: string;

beforeAll(async () => {
  mock = await startMockProvider({ apiKeys: [KEY], chunkCount: 4 });
  base = `${new URL(mock.url).origin}/gemini/v1beta`;
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

const post = (path: string, body: unknown, key: string | null = KEY) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === null ? {} : { "x-goog-api-key": key }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const HELLO = { contents: [{ role: "user", parts: [{ text: "Hello there" }] }] };
const TOOLS = [{ functionDeclarations: [{ name: "lookup", parameters: { type: "OBJECT" } }] }];

/** The JSON events of a Gemini SSE body (CRLF framed). */
function events(text: string): Array<Record<string, unknown>> {
  expect(text.endsWith("\r\n\r\n")).toBe(true);
  return text
    .split("\r\n\r\n")
    .filter((e) => e !== "")
    .map((e) => JSON.parse(e.replace(/^data: /, "")) as Record<string, unknown>);
}

interface Candidate {
  content: { parts: Array<{ text?: string; functionCall?: { name: string; args: unknown } }> };
  finishReason?: string;
}
const candidate = (e: Record<string, unknown>) => (e.candidates as Candidate[])[0] as Candidate;

describe("Gemini protocol", () => {
  it("answers generateContent with the mock reply, usage and a response id, counted under the key", async () => {
    const res = await post("/models/gemini-2.5-flash:generateContent", {
      systemInstruction: { parts: [{ text: "Be brief." }] },
      ...HELLO,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(candidate(body).content.parts).toEqual([{ text: "tok0 tok1 tok2 tok3" }]);
    expect(candidate(body).finishReason).toBe("STOP");
    expect(body.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9 });
    expect(body.modelVersion).toBe("gemini-2.5-flash");
    expect(typeof body.responseId).toBe("string");
    expect(mock.stats()).toMatchObject({ total: 1, byKey: { [KEY]: 1 }, byModel: { "gemini-2.5-flash": 1 } });
  });

  it("calls the first tool offered with functionCall parts, and answers its result with text", async () => {
    const call = await post("/models/m:generateContent", { ...HELLO, tools: TOOLS });
    const parts = candidate((await call.json()) as Record<string, unknown>).content.parts;
    expect(parts).toEqual([{ functionCall: { name: "lookup", args: { query: "mock" } } }]);
    const answer = await post("/models/m:generateContent", {
      contents: [
        ...HELLO.contents,
        { role: "model", parts },
        { role: "user", parts: [{ functionResponse: { name: "lookup", response: { result: "x" } } }] },
      ],
      tools: TOOLS,
    });
    expect(candidate((await answer.json()) as Record<string, unknown>).content.parts[0]?.text).toBe(
      "tok0 tok1 tok2 tok3",
    );
  });

  it("streams SSE chunks whose texts concatenate to the reply, the last with finishReason and usage", async () => {
    const res = await post("/models/m:streamGenerateContent?alt=sse", HELLO);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const all = events(await res.text());
    expect(all).toHaveLength(4);
    expect(all.map((e) => candidate(e).content.parts[0]?.text).join("")).toBe("tok0 tok1 tok2 tok3");
    expect(all.map((e) => candidate(e).finishReason)).toEqual([undefined, undefined, undefined, "STOP"]);
    expect((all[3] as Record<string, unknown>).usageMetadata).toMatchObject({ candidatesTokenCount: 4 });
  });

  it("streams a tool call whole in one chunk", async () => {
    const res = await post("/models/m:streamGenerateContent?alt=sse", { ...HELLO, tools: TOOLS });
    const all = events(await res.text());
    expect(all).toHaveLength(1);
    expect(candidate(all[0] as Record<string, unknown>).content.parts[0]?.functionCall?.name).toBe("lookup");
  });

  it("embeds with batchEmbedContents and embedContent", async () => {
    const batch = await post("/models/gemini-embedding-001:batchEmbedContents", {
      requests: ["a", "b"].map((text) => ({
        model: "models/gemini-embedding-001",
        content: { parts: [{ text }] },
      })),
    });
    expect(await batch.json()).toEqual({
      embeddings: [{ values: embeddingVector("a") }, { values: embeddingVector("b") }],
    });
    const one = await post("/models/gemini-embedding-001:embedContent", {
      content: { parts: [{ text: "a" }] },
    });
    expect(await one.json()).toEqual({ embedding: { values: embeddingVector("a") } });
  });

  it("accepts the key as ?key=, refuses a wrong key (400 API_KEY_INVALID) and a missing one (403)", async () => {
    const query = await fetch(`${base}/models/m:generateContent?key=${KEY}`, {
      method: "POST",
      body: JSON.stringify(HELLO),
    });
    expect(query.status).toBe(200);
    const wrong = await post("/models/m:generateContent", HELLO, "AIza-wrong");
    expect(wrong.status).toBe(400);
    const wrongBody = (await wrong.json()) as {
      error: { status: string; details: Array<{ reason: string }> };
    };
    expect(wrongBody.error.status).toBe("INVALID_ARGUMENT");
    expect(wrongBody.error.details[0]?.reason).toBe("API_KEY_INVALID");
    const missing = await post("/models/m:generateContent", HELLO, null);
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { status: string } }).error.status).toBe("PERMISSION_DENIED");
    expect(mock.stats().total).toBe(1);
  });

  it("answers unknown paths and bad bodies in Google's error shape", async () => {
    const unknown = await post("/models/m:countTokens", HELLO);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { status: string } }).error.status).toBe("NOT_FOUND");
    const bad = await post("/models/m:generateContent", "{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
  });
});

describe("Gemini protocol faults", () => {
  it("answers a status rule in Google's shape with its retry-after", async () => {
    mock.setFaults([{ match: { apiKey: KEY, model: "m" }, status: 429, retryAfter: "7", times: 1 }]);
    const res = await post("/models/m:generateContent", HELLO);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.json()).toEqual({
      error: { code: 429, message: "mock error 429", status: "RESOURCE_EXHAUSTED" },
    });
    expect((await post("/models/m:generateContent", HELLO)).status).toBe(200);
  });

  it("matches embeddings and stream rules by route and stream", async () => {
    mock.setFaults([
      { match: { route: "embeddings" }, status: 503 },
      { match: { stream: true }, status: 500 },
    ]);
    const embed = await post("/models/e:batchEmbedContents", {
      requests: [{ content: { parts: [{ text: "a" }] } }],
    });
    expect(embed.status).toBe(503);
    expect((await post("/models/m:streamGenerateContent?alt=sse", HELLO)).status).toBe(500);
    expect((await post("/models/m:generateContent", HELLO)).status).toBe(200);
  });

  it("delays by latencyMs and resets before headers", async () => {
    mock.setFaults([
      { latencyMs: 120, times: 1 },
      { reset: "before-headers", times: 1 },
    ]);
    const started = Date.now();
    expect((await post("/models/m:generateContent", HELLO)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await expect(post("/models/m:generateContent", HELLO)).rejects.toThrow();
  });

  it("sends a stream error event after afterChunks chunks", async () => {
    mock.setFaults([{ match: { stream: true }, streamError: { message: "overloaded" }, afterChunks: 2 }]);
    const res = await post("/models/m:streamGenerateContent?alt=sse", HELLO);
    const all = events(await res.text());
    expect(all).toHaveLength(3);
    expect(all[2]).toEqual({ error: { code: 500, message: "overloaded", status: "INTERNAL" } });
  });

  it("fails a tool-call stream shorter than afterChunks after its call, with the RPC status the rule names", async () => {
    mock.setFaults([
      {
        match: { stream: true },
        streamError: { message: "slow down", code: "RESOURCE_EXHAUSTED" },
        afterChunks: 3,
      },
    ]);
    const res = await post("/models/m:streamGenerateContent?alt=sse", { ...HELLO, tools: TOOLS });
    const all = events(await res.text());
    expect(all).toHaveLength(2);
    expect(candidate(all[0] as Record<string, unknown>).finishReason).toBeUndefined();
    expect(all[1]).toEqual({ error: { code: 429, message: "slow down", status: "RESOURCE_EXHAUSTED" } });
  });

  it("paces stream chunks by chunkIntervalMs", async () => {
    mock.setFaults([{ chunkIntervalMs: 40, times: 1 }]);
    const started = Date.now();
    await (await post("/models/m:streamGenerateContent?alt=sse", HELLO)).text();
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });
});
