import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FaultRule } from "./faults.js";
import { type MockProvider, startMockProvider } from "./server.js";

let mock: MockProvider;
let origin: string;

beforeAll(async () => {
  mock = await startMockProvider({ apiKey: "sk-a", apiKeys: ["sk-b"], chunkCount: 2 });
  origin = mock.url.replace(/\/v1$/, "");
});
afterAll(() => mock.close());
beforeEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

/** POSTs to an API route with a key; resolves to the status (body drained). */
async function call(
  route: "chat" | "embeddings",
  { key = "sk-a", model = "mock-small", stream = false, headers = {} as Record<string, string> } = {},
): Promise<number> {
  const body =
    route === "chat" ? { model, messages: [{ role: "user", content: "hi" }], stream } : { model, input: "x" };
  const res = await fetch(`${mock.url}/${route === "chat" ? "chat/completions" : "embeddings"}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

const admin = (method: string, path: string, body?: string) =>
  fetch(`${origin}${path}`, body === undefined ? { method } : { method, body });

describe("api keys", () => {
  it("accepts every configured key and 401s others", async () => {
    expect(await call("chat", { key: "sk-a" })).toBe(200);
    expect(await call("chat", { key: "sk-b" })).toBe(200);
    expect(await call("chat", { key: "sk-c" })).toBe(401);
    const none = await fetch(`${mock.url}/models`);
    expect(none.status).toBe(401);
  });

  it("rejects invalid apiKeys", async () => {
    await expect(startMockProvider({ apiKeys: ["ok", ""] })).rejects.toThrow(
      "apiKeys[1] must be a non-empty string",
    );
  });
});

describe("matching", () => {
  it.each<[string, FaultRule["match"], Parameters<typeof call>, Parameters<typeof call>]>([
    ["apiKey", { apiKey: "sk-b" }, ["chat", { key: "sk-b" }], ["chat", { key: "sk-a" }]],
    ["model", { model: "mock-large" }, ["chat", { model: "mock-large" }], ["chat", { model: "mock-small" }]],
    ["stream", { stream: true }, ["chat", { stream: true }], ["chat", { stream: false }]],
    ["stream: false", { stream: false }, ["embeddings"], ["chat", { stream: true }]],
    ["route", { route: "embeddings" }, ["embeddings"], ["chat"]],
    [
      "all fields",
      { apiKey: "sk-a", model: "m", stream: false, route: "chat" },
      ["chat", { model: "m" }],
      ["chat"],
    ],
  ])("by %s", async (_name, match, hit, miss) => {
    mock.setFaults([{ match, status: 418 }]);
    expect(await call(...hit)).toBe(418);
    expect(await call(...miss)).toBe(200);
  });

  it("applies the first matching rule", async () => {
    mock.setFaults([{ match: { model: "mock-large" }, status: 502 }, { status: 503 }, { status: 504 }]);
    expect(await call("chat", { model: "mock-large" })).toBe(502);
    expect(await call("chat", { model: "mock-small" })).toBe(503);
  });

  it("expires a rule after `times` matching requests and lists what is left", async () => {
    mock.setFaults([
      { match: { model: "mock-large" }, status: 500, times: 2 },
      { status: 429, times: 3 },
    ]);
    expect(await call("chat", { model: "mock-large" })).toBe(500);
    expect(mock.faults()).toEqual([
      { match: { model: "mock-large" }, status: 500, times: 1 },
      { status: 429, times: 3 },
    ]);
    expect(await call("chat", { model: "mock-large" })).toBe(500);
    expect(mock.faults()).toEqual([{ status: 429, times: 3 }]);
    expect(await call("chat", { model: "mock-large" })).toBe(429);
    expect(mock.faults()).toEqual([{ status: 429, times: 2 }]);
  });

  it("lets x-mock-status win over a rule without using it up", async () => {
    mock.setFaults([{ status: 500, times: 1, latencyMs: 0 }]);
    expect(await call("chat", { headers: { "x-mock-status": "404" } })).toBe(404);
    expect(mock.faults()).toEqual([{ status: 500, times: 1, latencyMs: 0 }]);
    expect(await call("chat")).toBe(500);
    expect(await call("chat")).toBe(200);
  });

  it("lets a rule win over errorRate", async () => {
    const flaky = await startMockProvider({ errorRate: 1, errorStatus: 503, faults: [{ times: 1 }] });
    try {
      const post = () =>
        fetch(`${flaky.url}/chat/completions`, { method: "POST", body: '{"model":"m","messages":[]}' }).then(
          (res) => res.status,
        );
      expect([await post(), await post()]).toEqual([200, 503]);
    } finally {
      await flaky.close();
    }
  });
});

describe("validation", () => {
  it.each<[string, unknown, string]>([
    ["not an array", { status: 500 }, 'faults must be an array of rules, got {"status":500}'],
    [
      "a bad status",
      [{}, { status: 200 }],
      "faults[1].status must be an integer between 400 and 599, got 200",
    ],
    ["an unknown field", [{ retry_after: "1" }], "faults[0].retry_after is not a known field"],
    ["two outcomes", [{ status: 500, reset: "before-headers" }], "faults[0] sets status and reset"],
    ["a bad reset", [{ reset: "later" }], 'faults[0].reset must be one of "before-headers"'],
    ["a bad route", [{ match: { route: "images" } }], "faults[0].match.route must be one of"],
    ["a wrong type", [{ match: { model: 5 } }], "faults[0].match.model must be a string, got 5"],
    ["zero times", [{ times: 0 }], "faults[0].times must be an integer between 1 and"],
    ["message without status", [{ message: "x" }], "faults[0].message needs status"],
    [
      "body with message",
      [{ status: 500, body: "x", message: "y" }],
      "faults[0].message cannot be combined with body",
    ],
    [
      "afterChunks alone",
      [{ afterChunks: 2 }],
      'faults[0].afterChunks needs reset "mid-stream" or streamError',
    ],
    ["streamError unmatched", [{ streamError: {} }], "faults[0]: streamError only applies to streams"],
    [
      "pacing on a status",
      [{ status: 500, chunks: 2 }],
      "faults[0].chunks only applies to replies with content",
    ],
    [
      "negative retryAfterMs",
      [{ status: 429, retryAfterMs: -1 }],
      "faults[0].retryAfterMs must be a finite number",
    ],
  ])("setFaults rejects %s and keeps the old rules", (_name, input, message) => {
    mock.setFaults([{ status: 500 }]);
    expect(() => mock.setFaults(input as FaultRule[])).toThrow(message);
    expect(mock.faults()).toEqual([{ status: 500 }]);
  });

  it("throws TypeError for shapes and RangeError for values", () => {
    expect(() => mock.setFaults([{ bogus: 1 } as FaultRule])).toThrow(TypeError);
    expect(() => mock.setFaults([{ latencyMs: -5 }])).toThrow(RangeError);
  });

  it("rejects bad initial rules at start", async () => {
    await expect(startMockProvider({ faults: [{ status: 99 }] })).rejects.toThrow("faults[0].status");
  });
});

describe("admin endpoints", () => {
  it("PUT stores rules, GET lists them, DELETE clears them, with no key needed", async () => {
    const put = await admin(
      "PUT",
      "/__mock/faults",
      JSON.stringify([{ match: { stream: true }, status: 500 }]),
    );
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual([{ match: { stream: true }, status: 500 }]);
    expect(await call("chat", { stream: true })).toBe(500);
    const listed = await admin("GET", "/v1/__mock/faults");
    expect(await listed.json()).toEqual([{ match: { stream: true }, status: 500 }]);
    const cleared = await admin("DELETE", "/__mock/faults");
    expect([cleared.status, await cleared.text()]).toEqual([204, ""]);
    expect(mock.faults()).toEqual([]);
  });

  it("PUT answers bad input with a 400 OpenAI error naming the problem", async () => {
    const bad = await admin("PUT", "/__mock/faults", '[{"status":"500"}]');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: {
        message: 'faults[0].status must be a number, got "500"',
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
    const notJson = await admin("PUT", "/__mock/faults", "[{");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toContain("JSON");
    expect((await admin("POST", "/__mock/faults", "[]")).headers.get("allow")).toBe("GET, PUT, DELETE");
  });

  it("is never faulted or counted", async () => {
    mock.setFaults([{ reset: "before-headers" }]);
    expect((await admin("GET", "/__mock/faults")).status).toBe(200);
    expect((await admin("GET", "/__mock/stats")).status).toBe(200);
    expect(mock.stats().total).toBe(0);
  });
});

describe("stats", () => {
  it("counts requests that passed the key check by key and model, whatever the outcome", async () => {
    mock.setFaults([{ match: { model: "mock-large" }, status: 500, times: 1 }]);
    await call("chat", { key: "sk-a", model: "mock-large" }); // faulted
    await call("chat", { key: "sk-b", model: "mock-large" });
    await call("embeddings", { key: "sk-b", model: "embed" });
    await call("chat", { key: "sk-x", model: "mock-large" }); // 401: not counted
    await fetch(`${mock.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-a" },
    });
    await fetch(`${mock.url}/models`, { headers: { authorization: "Bearer sk-a" } }); // not an API request
    const expected = {
      total: 4,
      byKey: { "sk-a": 2, "sk-b": 2 },
      byModel: { "mock-large": 2, embed: 1, "": 1 },
    };
    expect(mock.stats()).toEqual(expected);
    expect(await (await admin("GET", "/__mock/stats")).json()).toEqual(expected);
    expect((await admin("DELETE", "/__mock/stats")).status).toBe(204);
    expect(mock.stats()).toEqual({ total: 0, byKey: {}, byModel: {} });
    await call("chat", { key: "sk-b" });
    expect(mock.stats()).toEqual({ total: 1, byKey: { "sk-b": 1 }, byModel: { "mock-small": 1 } });
    mock.resetStats();
    expect(mock.stats()).toEqual({ total: 0, byKey: {}, byModel: {} });
  });
});
