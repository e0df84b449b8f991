import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "./server.js";

const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const messages = [{ role: "user" as const, content: "hello world!" }];

let provider: MockProvider;
let client: OpenAI;

beforeAll(async () => {
  provider = await startMockProvider();
  client = new OpenAI({ baseURL: provider.url, apiKey: "sk-anything", maxRetries: 0 });
});
afterAll(() => provider.close());

describe("embeddings and models", () => {
  it("returns deterministic unit vectors in the OpenAI list shape", async () => {
    const first = await client.embeddings.create({ model: "mock-embed", input: ["alpha", "beta"] });
    const again = await client.embeddings.create({
      model: "mock-embed",
      input: "alpha",
      encoding_format: "float",
    });
    expect(first.object).toBe("list");
    expect(first.model).toBe("mock-embed");
    expect(first.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ["embedding", 0, 8],
      ["embedding", 1, 8],
    ]);
    expect(first.data[0]?.embedding).not.toEqual(first.data[1]?.embedding);
    // base64 (the SDK default) and float encodings decode to the same numbers.
    expect(again.data[0]?.embedding).toEqual(first.data[0]?.embedding);
    const norm = Math.hypot(...(first.data[0]?.embedding ?? []));
    expect(norm).toBeCloseTo(1, 5);
    expect(first.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it("lists the mock models", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["mock-small", "mock-large"]);
  });
});

describe("server options", () => {
  it("enforces the api key with 401", async () => {
    const guarded = await startMockProvider({ apiKey: "sk-right" });
    try {
      const wrong = new OpenAI({ baseURL: guarded.url, apiKey: "sk-wrong", maxRetries: 0 });
      await expect(wrong.chat.completions.create({ model: "m", messages })).rejects.toBeInstanceOf(
        OpenAI.AuthenticationError,
      );
      const right = new OpenAI({ baseURL: guarded.url, apiKey: "sk-right", maxRetries: 0 });
      const ok = await right.chat.completions.create({ model: "m", messages });
      expect(ok.choices[0]?.message.content).toBe(EIGHT);
    } finally {
      await guarded.close();
    }
  });

  it("fails an exact, evenly spread fraction of requests", async () => {
    const flaky = await startMockProvider({ errorRate: 0.25, errorStatus: 503, chunkCount: 2 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${flaky.url}/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "m", messages: [] }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 200, 503, 200, 200, 200, 503]);
    } finally {
      await flaky.close();
    }
  });

  it("delays responses by latencyMs", async () => {
    const slow = await startMockProvider({ latencyMs: 50 });
    try {
      const started = performance.now();
      const res = await fetch(`${slow.url}/models`);
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    } finally {
      await slow.close();
    }
  });

  it("rejects invalid options", async () => {
    await expect(startMockProvider({ errorRate: 2 })).rejects.toThrow(/errorRate/);
    await expect(startMockProvider({ chunkCount: -1 })).rejects.toThrow(/chunkCount/);
  });
});
