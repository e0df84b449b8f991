import { request } from "node:http";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "./server.js";

const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const messages = [{ role: "user" as const, content: "hello world!" }]; // 12 chars -> 3 prompt tokens

let provider: MockProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startMockProvider({ record: true });
  client = new OpenAI({ baseURL: provider.url, apiKey: "sk-anything", maxRetries: 0 });
});
afterAll(() => provider.close());

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const text = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");

describe("chat completions", () => {
  it("returns deterministic content and usage", async () => {
    const completion = await client.chat.completions.create({ model: "mock-small", messages });
    expect(completion.id).toMatch(/^chatcmpl-mock-\d+$/);
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("mock-small");
    expect(completion.choices).toEqual([
      { index: 0, message: { role: "assistant", content: EIGHT }, finish_reason: "stop" },
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 });
  });

  it("streams chunks that concatenate to the non-streamed content", async () => {
    const chunks = await collect(
      await client.chat.completions.create({ model: "m", messages, stream: true }),
    );
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(chunks).toHaveLength(1 + 8 + 1);
    expect(text(chunks)).toBe(EIGHT);
    expect(chunks.at(-1)?.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "stop" });
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.usage === undefined)).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("adds a usage chunk only when include_usage is set", async () => {
    const chunks = await collect(
      await client.chat.completions.create({
        model: "m",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(chunks).toHaveLength(1 + 8 + 1 + 1);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 });
    expect(chunks.slice(0, -1).some((c) => c.usage)).toBe(false);
  });

  it("honours x-mock-chunks for both modes", async () => {
    const headers = { "x-mock-chunks": "3" };
    const plain = await client.chat.completions.create({ model: "m", messages }, { headers });
    const streamed = await collect(
      await client.chat.completions.create({ model: "m", messages, stream: true }, { headers }),
    );
    expect(plain.choices[0]?.message.content).toBe("tok0 tok1 tok2");
    expect(plain.usage?.completion_tokens).toBe(3);
    expect(text(streamed)).toBe("tok0 tok1 tok2");
  });

  it("paces stream chunks by the chunk interval", async () => {
    const headers = { "x-mock-chunks": "5", "x-mock-chunk-interval-ms": "20" };
    const started = performance.now();
    const stream = await client.chat.completions.create({ model: "m", messages, stream: true }, { headers });
    let first: number | undefined;
    const pieces: string[] = [];
    for await (const chunk of stream) {
      first ??= performance.now();
      pieces.push(chunk.choices[0]?.delta.content ?? "");
    }
    const ended = performance.now();
    expect(pieces.join("")).toBe("tok0 tok1 tok2 tok3 tok4");
    expect(ended - started).toBeGreaterThanOrEqual(75);
    expect(ended - (first ?? ended)).toBeGreaterThanOrEqual(60);
  });

  it("makes the SDK stream throw when the socket dies mid-stream", async () => {
    const stream = await client.chat.completions.create(
      { model: "m", messages, stream: true },
      { headers: { "x-mock-fail-after-chunks": "2", "x-mock-chunk-interval-ms": "10" } },
    );
    const seen: ChatCompletionChunk[] = [];
    await expect(async () => {
      for await (const chunk of stream) seen.push(chunk);
    }).rejects.toThrow();
    expect(seen.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(false);
    expect(text(seen).length).toBeLessThan(EIGHT.length);
  });

  it("surfaces x-mock-status 429 as RateLimitError with retry-after", async () => {
    const error = await client.chat.completions
      .create({ model: "m", messages }, { headers: { "x-mock-status": "429" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get("retry-after")).toBe("1");
    expect(rateLimit.error).toEqual({
      message: "mock error 429",
      type: "rate_limit_error",
      param: null,
      code: "rate_limit_exceeded",
    });
  });

  it("surfaces x-mock-status 503 as InternalServerError", async () => {
    await expect(
      client.chat.completions.create({ model: "m", messages }, { headers: { "x-mock-status": "503" } }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });
});

describe("raw HTTP", () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${provider.url.replace(/\/v1$/, "")}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  it("answers invalid JSON with a 400 OpenAI error", async () => {
    const res = await post("/v1/chat/completions", "{not json");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({
      error: {
        message: "We could not parse the JSON body of your request.",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  });

  it("rejects a missing model or non-array messages", async () => {
    const noModel = await post("/v1/chat/completions", JSON.stringify({ messages: [] }));
    expect(noModel.status).toBe(400);
    expect(((await noModel.json()) as { error: { param: string } }).error.param).toBe("model");
    const badMessages = await post("/v1/chat/completions", JSON.stringify({ model: "m", messages: "hi" }));
    expect(badMessages.status).toBe(400);
    expect(((await badMessages.json()) as { error: { param: string } }).error.param).toBe("messages");
  });

  it("accepts paths without /v1 and 404s unknown paths", async () => {
    const ok = await post("/chat/completions", JSON.stringify({ model: "m", messages: [] }));
    expect(ok.status).toBe(200);
    const missing = await post("/v1/nope", "{}");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });

  it("rejects a bad override header naming it", async () => {
    const res = await post("/v1/chat/completions", JSON.stringify({ model: "m", messages: [] }), {
      "x-mock-chunks": "lots",
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string } };
    expect(body.error.param).toBe("x-mock-chunks");
    expect(body.error.message).toContain("x-mock-chunks");
  });

  it("answers 413 to a declared body over 10 MB", async () => {
    const { port } = provider;
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", "content-length": String(10 * 1024 * 1024 + 1) },
      });
      req.on("response", (res) => {
        resolve(res.statusCode);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });

  it("records requests with parsed bodies", async () => {
    await client.chat.completions.create({ model: "recorded-model", messages });
    const last = provider.requests.at(-1);
    expect(last?.method).toBe("POST");
    expect(last?.path).toBe("/v1/chat/completions");
    expect(last?.headers.authorization).toBe("Bearer sk-anything");
    expect(last?.body).toMatchObject({ model: "recorded-model", messages });
  });
});
