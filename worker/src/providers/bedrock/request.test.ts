import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { GatewayError } from "../../http/errors.js";
import { toolUseId } from "./messages.js";
import { chatRequest, converseBody } from "./request.js";
import { chatResponse } from "./response.js";

const ctx = contextOf({
  provider: "bedrock",
  endpoint: "chat",
  upstreamModel: "us.anthropic.claude-3-5-haiku-20241022-v1:0",
  settings: { region: "us-east-1" },
});

/** The translation error a body gets (param and message), or undefined when it translates. */
function refusal(body: Record<string, unknown>): { param: string | null; message: string } | undefined {
  try {
    converseBody(body);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const e = err as GatewayError;
    expect(e.status).toBe(400);
    return { param: e.param, message: e.message };
  }
}

const user = (content: unknown) => ({ messages: [{ role: "user", content }] });

describe("bedrock chat request", () => {
  it("puts the URL-encoded model id (cross-region profile, ':') in the path, never in the body", () => {
    const req = chatRequest({ model: "x", messages: [{ role: "user", content: "hi" }] }, ctx);
    expect(req.path).toBe("/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
    expect(JSON.parse(req.body as string)).not.toHaveProperty("model");
    const streamed = chatRequest({ model: "x", messages: [] }, { ...ctx, stream: true });
    expect(streamed.path).toBe("/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream");
  });

  it("does not modify the client's body", () => {
    const body = {
      messages: [
        { role: "system", content: "s" },
        { role: "user", content: [{ type: "text", text: "a" }] },
        { role: "user", content: "b" },
      ],
      stop: "X",
    };
    const copy = structuredClone(body);
    converseBody(body);
    expect(body).toEqual(copy);
  });

  it("clamps sampling to Bedrock's ranges and drops empty stop sequences", () => {
    const out = converseBody({
      messages: [],
      temperature: -1,
      top_p: 3,
      max_tokens: 0,
      stop: ["", "END"],
      top_k: 40,
    });
    expect(out.inferenceConfig).toEqual({ maxTokens: 1, temperature: 0, topP: 1, stopSequences: ["END"] });
    expect(out.additionalModelRequestFields).toEqual({ top_k: 40 });
  });

  it("leaves out blank text and messages left empty, then merges the same roles", () => {
    const out = converseBody({
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "" },
        { role: "user", content: "  " },
        { role: "user", content: "b" },
      ],
    });
    expect(out.messages).toEqual([{ role: "user", content: [{ text: "a" }, { text: "b" }] }]);
  });

  it("rewrites tool-call ids Bedrock refuses, the same way in calls and results", () => {
    const id = "call/with spaces&more-than-sixty-four-characters-in-it-xxxxxxxxxxxxxxxxxxxxxxxxx";
    const rewritten = toolUseId(id);
    expect(rewritten).toMatch(/^[a-zA-Z0-9_.:-]{1,64}$/);
    expect(toolUseId("call_abc:1")).toBe("call_abc:1");
    const out = converseBody({
      messages: [
        { role: "user", content: "q" },
        {
          role: "assistant",
          tool_calls: [{ id, type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: id, content: "r" },
      ],
    });
    const [, assistant, result] = out.messages as Array<{
      content: Array<Record<string, { toolUseId: string }>>;
    }>;
    expect(assistant?.content[0]?.toolUse?.toolUseId).toBe(rewritten);
    expect(result?.content[0]?.toolResult?.toolUseId).toBe(rewritten);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "an http image URL (Bedrock takes bytes; the gateway does not download)",
      user([{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }]),
      "messages[0].content[0]",
    ],
    [
      "an image type Bedrock does not take",
      user([{ type: "image_url", image_url: { url: "data:image/bmp;base64,Qk0=" } }]),
      "messages[0].content[0]",
    ],
    [
      "an audio part",
      user([{ type: "input_audio", input_audio: { data: "", format: "wav" } }]),
      "messages[0].content[0]",
    ],
    [
      "tool-call arguments that are not a JSON object",
      {
        messages: [
          { role: "user", content: "q" },
          {
            role: "assistant",
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "[1" } }],
          },
        ],
      },
      "messages[1].tool_calls[0].function.arguments",
    ],
    ["a tool message without tool_call_id", { messages: [{ role: "tool", content: "r" }] }, "messages[0]"],
    ["an unknown role", { messages: [{ role: "function", content: "r" }] }, "messages[0].role"],
    ["a non-function tool", { messages: [], tools: [{ type: "code_interpreter" }] }, "tools[0]"],
  ])("refuses %s with a 400 naming the field", (_name, body, param) => {
    const r = refusal(body);
    expect(r?.param).toBe(param);
  });

  it("explains why an image URL is refused", () => {
    const r = refusal(user([{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }]));
    expect(r?.message).toMatch(/data: URLs/);
  });
});

describe("bedrock chat response", () => {
  it.each([
    ["invalid JSON", '{"output":'],
    ["a JSON array", "[]"],
    ["no output", '{"stopReason":"end_turn"}'],
    ["an output without a message", '{"output":{}}'],
    ["a message without content", '{"output":{"message":{"role":"assistant"}}}'],
  ])("reports %s as unreadable", (_name, text) => {
    expect(chatResponse(Buffer.from(text), ctx)).toBeUndefined();
  });

  it("maps every stop reason", () => {
    const reason = (stopReason: string) => {
      const body = { output: { message: { role: "assistant", content: [{ text: "x" }] } }, stopReason };
      const out = chatResponse(Buffer.from(JSON.stringify(body)), ctx);
      return JSON.parse(String(out?.body)).choices[0].finish_reason as string;
    };
    expect(
      [
        "end_turn",
        "stop_sequence",
        "max_tokens",
        "model_context_window_exceeded",
        "tool_use",
        "guardrail_intervened",
        "content_filtered",
        "malformed_model_output",
      ].map(reason),
    ).toEqual(["stop", "stop", "length", "length", "tool_calls", "content_filter", "content_filter", "stop"]);
  });

  it("leaves usage unknown when the reply has none", () => {
    const body = { output: { message: { role: "assistant", content: [] } }, stopReason: "end_turn" };
    const out = chatResponse(Buffer.from(JSON.stringify(body)), ctx);
    expect(out?.usage).toBeUndefined();
    expect(JSON.parse(String(out?.body)).choices[0].message.content).toBe("");
  });
});
