import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "../server.js";

const KEY = "azure-mock-key";
const VERSION = "2024-10-21";
const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }];
const messages = [{ role: "user" as const, content: "hello world!" }];

let mock: MockProvider;
let origin: string;

/** An unsigned JWT (as an Entra token looks) with the given payload. */
const jwt = (payload: Record<string, unknown>) =>
  [{ alg: "none", typ: "JWT" }, payload, "sig"]
    .map((part) =>
      typeof part === "string" ? part : Buffer.from(JSON.stringify(part)).toString("base64url"),
    )
    .join(".");

beforeAll(async () => {
  mock = await startMockProvider({ apiKeys: [KEY] });
  origin = new URL(mock.url).origin;
});
afterAll(() => mock.close());
afterEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

const azure = (deployment: string, auth: { apiKey: string } | { token: string } = { apiKey: KEY }) =>
  new AzureOpenAI({
    endpoint: `${origin}/azure`,
    apiVersion: VERSION,
    deployment,
    maxRetries: 0,
    ...("apiKey" in auth ? { apiKey: auth.apiKey } : { azureADTokenProvider: async () => auth.token }),
  });

function post(path: string, body: unknown, headers: Record<string, string> = { "api-key": KEY }) {
  return fetch(`${origin}/azure${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

describe("azure protocol: deployments", () => {
  it("answers the AzureOpenAI client with the deployment as the model", async () => {
    const c = await azure("prod-gpt4o").chat.completions.create({ model: "ignored", messages });
    expect(c.model).toBe("prod-gpt4o");
    expect(c.choices[0]?.message.content).toBe(EIGHT);
    expect(mock.stats()).toEqual({ total: 1, byKey: { [KEY]: 1 }, byModel: { "prod-gpt4o": 1 } });
  });

  it("starts streams with Azure's choices: [] prompt-filter chunk", async () => {
    const res = await post(`/openai/deployments/d1/chat/completions?api-version=${VERSION}`, {
      messages,
      stream: true,
    });
    const events = (await res.text()).split("\n\n").filter(Boolean);
    const first = JSON.parse(events[0]?.slice(6) ?? "");
    expect(first).toMatchObject({
      choices: [],
      id: "",
      model: "",
      prompt_filter_results: [{ prompt_index: 0 }],
    });
    expect(JSON.parse(events[1]?.slice(6) ?? "").model).toBe("d1");
    expect(events.at(-1)).toBe("data: [DONE]");
  });

  it("streams a tool call the SDK assembles", async () => {
    const stream = await azure("d1").chat.completions.create({
      model: "x",
      messages,
      tools: TOOLS,
      stream: true,
    });
    let args = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(args)).toEqual({ query: "mock" });
    expect(finish).toBe("tool_calls");
  });

  it("serves embeddings and speech on deployments", async () => {
    const e = await azure("embed-dep").embeddings.create({ model: "x", input: ["a", "b"] });
    expect(e.data).toHaveLength(2);
    expect(e.model).toBe("embed-dep");
    const speech = await azure("tts-dep").audio.speech.create({ model: "x", voice: "alloy", input: "Hi" });
    expect(speech.headers.get("content-type")).toBe("audio/mpeg");
    expect(mock.stats().byModel).toEqual({ "embed-dep": 1, "tts-dep": 1 });
  });

  it("needs api-version (404 in Azure's shape) and a valid key", async () => {
    const missing = await post("/openai/deployments/d1/chat/completions", { messages });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "404", message: "Resource not found" } });
    const wrong = await post(
      `/openai/deployments/d1/chat/completions?api-version=${VERSION}`,
      { messages },
      {
        "api-key": "nope",
      },
    );
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("401");
    expect(mock.stats().total).toBe(0);
  });

  it("accepts an Entra token (a JWT) whose oid is an accepted key, and counts it under that key", async () => {
    const c = await azure("d1", {
      token: jwt({ oid: KEY, aud: "https://cognitiveservices.azure.com" }),
    }).chat.completions.create({ model: "x", messages });
    expect(c.choices[0]?.message.content).toBe(EIGHT);
    expect(mock.stats().byKey).toEqual({ [KEY]: 1 });
    await expect(
      azure("d1", { token: jwt({ oid: "someone-else" }) }).chat.completions.create({ model: "x", messages }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("applies fault rules in Azure's error shape with retry-after-ms", async () => {
    mock.setFaults([{ match: { model: "d1" }, status: 429, retryAfter: "2", retryAfterMs: 1500, times: 1 }]);
    const res = await post(`/openai/deployments/d1/chat/completions?api-version=${VERSION}`, { messages });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after-ms")).toBe("1500");
    expect(await res.json()).toEqual({ error: { code: "429", message: "mock error 429" } });
    mock.setFaults([{ reset: "before-headers", times: 1 }]);
    await expect(
      post(`/openai/deployments/d1/embeddings?api-version=${VERSION}`, { input: "a" }),
    ).rejects.toThrow();
  });
});

describe("azure protocol: v1 API", () => {
  it("serves the stock OpenAI client (key as Bearer, model = deployment) and api-key auth", async () => {
    const client = new OpenAI({ baseURL: `${origin}/azure/openai/v1`, apiKey: KEY, maxRetries: 0 });
    const c = await client.chat.completions.create({ model: "v1-dep", messages });
    expect(c.model).toBe("v1-dep");
    const e = await client.embeddings.create({ model: "v1-embed", input: "a" });
    expect(e.data).toHaveLength(1);
    const res = await post("/openai/v1/chat/completions", { model: "v1-dep", messages });
    expect(res.status).toBe(200);
    expect((await post("/openai/v1/chat/completions", { messages })).status).toBe(400);
  });
});
