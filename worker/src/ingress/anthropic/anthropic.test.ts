import { describe, expect, it } from "vitest";
import { toChatRequest } from "./request.js";
import { fromOpenAIError, toMessage } from "./response.js";
import { createAnthropicStream } from "./stream.js";

describe("Anthropic Messages request → chat request", () => {
  it("maps system, text, images, tool use and grouped tool results, tools and tool choice", () => {
    const chat = toChatRequest({
      model: "claude-x",
      max_tokens: 300,
      system: [{ type: "text", text: "Be brief." }],
      stop_sequences: ["END"],
      temperature: 0.3,
      metadata: { user_id: "u1" },
      tools: [{ name: "lookup", description: "Looks up", input_schema: { type: "object", properties: {} } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Let me look." },
            { type: "tool_use", id: "toolu_1", name: "lookup", input: { q: 1 } },
            { type: "tool_use", id: "toolu_2", name: "lookup", input: { q: 2 } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: "one" },
            {
              type: "tool_result",
              tool_use_id: "toolu_2",
              content: [{ type: "text", text: "two" }],
              is_error: true,
            },
            { type: "text", text: "thanks" },
          ],
        },
      ],
    });
    expect(chat).toEqual({
      model: "claude-x",
      max_tokens: 300,
      temperature: 0.3,
      stop: ["END"],
      user: "u1",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: "Let me look.",
          tool_calls: [
            { id: "toolu_1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } },
            { id: "toolu_2", type: "function", function: { name: "lookup", arguments: '{"q":2}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "one" },
        { role: "tool", tool_call_id: "toolu_2", content: "Error: two" },
        { role: "user", content: "thanks" },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "lookup",
            description: "Looks up",
            parameters: { type: "object", properties: {} },
          },
        },
      ],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
  });

  it.each([
    [{ messages: [{ role: "user", content: "x" }], max_tokens: 10 }, "model"],
    [{ model: "m", messages: [{ role: "user", content: "x" }] }, "max_tokens"],
    [{ model: "m", max_tokens: 10, messages: [] }, "messages"],
    [{ model: "m", max_tokens: 10, messages: [{ role: "system", content: "x" }] }, "messages"],
  ])("refuses a request without what Anthropic requires (%#)", (body, param) => {
    expect(() => toChatRequest(body)).toThrow(expect.objectContaining({ code: "invalid_request", param }));
  });
});

describe("chat completion → Anthropic message", () => {
  it("maps text, tool calls, stop reason and usage (input excludes cache reads)", () => {
    const message = toMessage(
      {
        id: "chatcmpl-abc",
        model: "up-model",
        choices: [
          {
            index: 0,
            finish_reason: "tool_calls",
            message: {
              role: "assistant",
              content: "Checking.",
              tool_calls: [
                { id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } },
              ],
            },
          },
        ],
        usage: { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 60 } },
      },
      "requested",
    );
    expect(message).toEqual({
      id: "msg_abc",
      type: "message",
      role: "assistant",
      model: "up-model",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "lookup", input: { q: "x" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 40,
        output_tokens: 7,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 60,
      },
    });
  });

  it("turns OpenAI-shaped errors into Anthropic's", () => {
    const body = fromOpenAIError(
      429,
      JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } }),
    );
    expect(JSON.parse(body)).toEqual({
      type: "error",
      error: { type: "rate_limit_error", message: "slow down" },
    });
    expect(JSON.parse(fromOpenAIError(502, "<html>")).error.type).toBe("api_error");
  });
});

const chunk = (delta: object, finish: string | null = null, extra: object = {}) =>
  `data: ${JSON.stringify({ id: "chatcmpl-s1", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;

/** The Anthropic events of a converted stream: [event name, data]. */
function events(text: string): Array<[string, Record<string, unknown>]> {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((e) => {
      const [name, data] = e.split("\n");
      return [String(name).slice(7), JSON.parse(String(data).slice(6)) as Record<string, unknown>];
    });
}

describe("chat chunk stream → Anthropic events", () => {
  const openai =
    chunk({ role: "assistant", content: "" }) +
    chunk({ content: "Hel" }) +
    chunk({ content: "lo" }) +
    chunk({
      tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "lookup", arguments: "" } }],
    }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }) +
    chunk({}, "tool_calls") +
    `data: ${JSON.stringify({ id: "chatcmpl-s1", choices: [], usage: { prompt_tokens: 12, completion_tokens: 5 } })}\n\n` +
    "data: [DONE]\n\n";

  it.each([1, 7, 10_000])(
    "emits the full event sequence, whatever the event grouping (%i events per call)",
    (n) => {
      const s = createAnthropicStream("requested");
      const parts = openai.split(/(?<=\n\n)/);
      let out = "";
      for (let i = 0; i < parts.length; i += n) out += s.convert(parts.slice(i, i + n).join(""));
      out += s.end();
      const seq = events(out);
      expect(seq.map(([name]) => name)).toEqual([
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ]);
      expect(seq[5]?.[1]).toMatchObject({
        index: 1,
        content_block: { type: "tool_use", id: "call_a", name: "lookup" },
      });
      expect(seq[6]?.[1]).toMatchObject({
        index: 1,
        delta: { type: "input_json_delta", partial_json: '{"q":' },
      });
      expect(seq[9]?.[1]).toMatchObject({
        delta: { stop_reason: "tool_use" },
        usage: { input_tokens: 12, output_tokens: 5 },
      });
    },
  );

  it("turns an error event into an Anthropic error event and stops", () => {
    const s = createAnthropicStream("m");
    const out = s.convert(
      chunk({ content: "a" }) + `data: ${JSON.stringify({ error: { message: "boom" } })}\n\n`,
    );
    const seq = events(out);
    expect(seq.at(-1)).toEqual(["error", { type: "error", error: { type: "api_error", message: "boom" } }]);
    expect(s.convert("data: [DONE]\n\n")).toBe("");
  });
});
