import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "./server.js";

const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS = [
  { type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } },
  { type: "function" as const, function: { name: "other", parameters: { type: "object" } } },
];
const messages = [{ role: "user" as const, content: "hello world!" }]; // 12 chars -> 3 prompt tokens

let mock: MockProvider;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  client = new OpenAI({ baseURL: mock.url, apiKey: "sk-any", maxRetries: 0 });
});
afterAll(() => mock.close());
afterEach(() => mock.clearFaults());

describe("OpenAI mock tool calls", () => {
  it("calls the first tool offered, with JSON-string arguments", async () => {
    const c = await client.chat.completions.create({ model: "mock-small", messages, tools: TOOLS });
    const call = c.choices[0]?.message.tool_calls?.[0];
    expect(c.choices[0]?.finish_reason).toBe("tool_calls");
    expect(c.choices[0]?.message.content).toBeNull();
    expect(c.choices[0]?.message.tool_calls).toHaveLength(1);
    expect(call).toMatchObject({
      type: "function",
      function: { name: "lookup", arguments: '{"query":"mock"}' },
    });
    expect(call?.id).toMatch(/^call_mock_\d+$/);
    expect(c.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  it("streams the call per the OpenAI contract: id and name first, then argument fragments", async () => {
    const stream = await client.chat.completions.create({
      model: "mock-small",
      messages,
      tools: TOOLS,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call) deltas.push(call);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas[0]).toMatchObject({
      index: 0,
      type: "function",
      function: { name: "lookup", arguments: "" },
    });
    expect(deltas[0]?.id).toMatch(/^call_mock_\d+$/);
    expect(deltas.length).toBeGreaterThan(2);
    for (const d of deltas.slice(1))
      expect(d).toEqual({ index: 0, function: { arguments: d.function?.arguments } });
    expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? "").join(""))).toEqual({ query: "mock" });
    expect(finish).toBe("tool_calls");
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  it("answers a tool result with the canned text", async () => {
    const c = await client.chat.completions.create({
      model: "mock-small",
      tools: TOOLS,
      messages: [
        ...messages,
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_1", content: "found" },
      ],
    });
    expect(c.choices[0]?.message.content).toBe(EIGHT);
    expect(c.choices[0]?.finish_reason).toBe("stop");
  });

  it("keeps stream faults on tool call streams", async () => {
    mock.setFaults([{ match: { stream: true }, streamError: { message: "boom" }, afterChunks: 1 }]);
    const res = await fetch(`${mock.url}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages, tools: TOOLS, stream: true }),
    });
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toContain('"message":"boom"');
    expect(events.some((e) => e.includes("[DONE]"))).toBe(false);
  });
});
