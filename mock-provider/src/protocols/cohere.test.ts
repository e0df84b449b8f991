import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "../server.js";

const KEY = "co-mock-key";
const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];
const messages = [{ role: "user", content: "hello world!" }]; // 12 chars -> 3 input tokens

let mock: MockProvider;
let base: string;

beforeAll(async () => {
  mock = await startMockProvider({ apiKeys: [KEY] });
  base = `${new URL(mock.url).origin}/cohere/v2`;
});
afterAll(() => mock.close());
afterEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

function post(path: string, body: unknown, key = KEY) {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The JSON data of each SSE event, checked against its `event:` name. */
function events(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const [name, data] = block.split("\n");
      const parsed = JSON.parse(data?.slice(6) ?? "") as Record<string, unknown>;
      expect(parsed.type).toBe(name?.slice(7));
      return parsed;
    });
}

describe("cohere protocol: chat", () => {
  it("answers with the mock's text, finish reason and usage", async () => {
    const res = await post("/chat", { model: "command-r", messages });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      finish_reason: "COMPLETE",
      message: { role: "assistant", content: [{ type: "text", text: EIGHT }] },
      usage: { tokens: { input_tokens: 3, output_tokens: 8 }, billed_units: { input_tokens: 3 } },
    });
    expect(mock.stats()).toEqual({ total: 1, byKey: { [KEY]: 1 }, byModel: { "command-r": 1 } });
  });

  it("streams named events whose deltas concatenate to the text", async () => {
    const res = await post("/chat", { model: "command-r", messages, stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const all = events(await res.text());
    expect(all.map((e) => e.type)).toEqual([
      "message-start",
      "content-start",
      ...Array(8).fill("content-delta"),
      "content-end",
      "message-end",
    ]);
    const text = all
      .filter((e) => e.type === "content-delta")
      .map((e) => (e.delta as { message: { content: { text: string } } }).message.content.text)
      .join("");
    expect(text).toBe(EIGHT);
    expect(all.at(-1)).toMatchObject({
      delta: { finish_reason: "COMPLETE", usage: { tokens: { output_tokens: 8 } } },
    });
  });

  it("calls the first tool, then answers its result with text", async () => {
    const plain = (await (await post("/chat", { model: "m", messages, tools: TOOLS })).json()) as {
      message: { tool_calls: Array<{ id: string }> };
    };
    expect(plain).toMatchObject({
      finish_reason: "TOOL_CALL",
      message: {
        tool_calls: [{ type: "function", function: { name: "lookup", arguments: '{"query":"mock"}' } }],
      },
    });
    const streamed = events(
      await (await post("/chat", { model: "m", messages, tools: TOOLS, stream: true })).text(),
    );
    expect(streamed.map((e) => e.type)).toEqual([
      "message-start",
      "tool-plan-delta",
      "tool-call-start",
      "tool-call-delta",
      "tool-call-delta",
      "tool-call-end",
      "message-end",
    ]);
    const args = streamed
      .filter((e) => e.type === "tool-call-delta")
      .map(
        (e) =>
          (e.delta as { message: { tool_calls: { function: { arguments: string } } } }).message.tool_calls
            .function.arguments,
      )
      .join("");
    expect(JSON.parse(args)).toEqual({ query: "mock" });
    const id = plain.message.tool_calls[0]?.id;
    const after = await post("/chat", {
      model: "m",
      tools: TOOLS,
      messages: [
        ...messages,
        { role: "assistant", tool_calls: plain.message.tool_calls },
        { role: "tool", tool_call_id: id, content: "found" },
      ],
    });
    const answer = (await after.json()) as { message: { content: Array<{ text: string }> } };
    expect(answer.message.content[0]?.text).toBe(EIGHT);
  });

  it("rejects a wrong key (not counted) and unknown paths in Cohere's shape", async () => {
    const res = await post("/chat", { model: "m", messages }, "wrong");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ message: "invalid api token" });
    expect((await post("/rerank", { model: "m" })).status).toBe(404);
    expect(mock.stats().total).toBe(0);
  });

  it("applies fault rules: status with retry-after, latency, reset before headers", async () => {
    mock.setFaults([
      { match: { model: "busy" }, status: 429, retryAfter: "3", message: "slow down", times: 1 },
    ]);
    const limited = await post("/chat", { model: "busy", messages });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("3");
    expect(await limited.json()).toEqual({ id: "mock-error", message: "slow down" });

    mock.setFaults([{ latencyMs: 60, times: 1 }]);
    const started = performance.now();
    expect((await post("/chat", { model: "m", messages })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);

    mock.setFaults([{ reset: "before-headers", times: 1 }]);
    await expect(post("/chat", { model: "m", messages })).rejects.toThrow();
  });

  it("ends a stream with an ERROR message-end on a stream error rule, and paces chunks", async () => {
    mock.setFaults([{ match: { stream: true }, streamError: { message: "boom" }, afterChunks: 2 }]);
    const all = events(await (await post("/chat", { model: "m", messages, stream: true })).text());
    expect(all.filter((e) => e.type === "content-delta")).toHaveLength(2);
    expect(all.at(-1)).toMatchObject({
      type: "message-end",
      delta: { finish_reason: "ERROR", error: "boom" },
    });

    mock.setFaults([{ chunks: 3, chunkIntervalMs: 25 }]);
    const started = performance.now();
    await (await post("/chat", { model: "m", messages, stream: true })).text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe("cohere protocol: embed", () => {
  it("embeds texts as float (and base64) vectors with billed units", async () => {
    const res = await post("/embed", {
      model: "embed-english-v3.0",
      texts: ["a", "bb"],
      input_type: "search_document",
      embedding_types: ["float", "base64"],
    });
    const body = (await res.json()) as {
      response_type: string;
      embeddings: { float: number[][]; base64: string[] };
      meta: { billed_units: { input_tokens: number } };
    };
    expect(body.response_type).toBe("embeddings_by_type");
    expect(body.embeddings.float).toHaveLength(2);
    expect(body.embeddings.float[0]).not.toEqual(body.embeddings.float[1]);
    const bytes = Buffer.from(body.embeddings.base64[0] ?? "", "base64");
    const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect(Array.from(decoded)).toEqual(body.embeddings.float[0]);
    expect(body.meta.billed_units.input_tokens).toBe(1);
  });

  it("requires input_type and at most 96 texts, as Cohere does", async () => {
    expect((await post("/embed", { model: "e", texts: ["a"] })).status).toBe(400);
    const many = Array.from({ length: 97 }, (_, i) => `t${i}`);
    const res = await post("/embed", { model: "e", texts: many, input_type: "search_document" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/at most 96/);
  });

  it("applies fault rules on the embeddings route", async () => {
    mock.setFaults([{ match: { route: "embeddings" }, status: 503, times: 1 }]);
    const res = await post("/embed", { model: "e", texts: ["a"], input_type: "search_document" });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ message: "mock error 503" });
  });
});
