import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import type { StreamTranslator } from "../types.js";
import { chatStream } from "./stream.js";

const ctx = contextOf({ provider: "anthropic", endpoint: "chat", stream: true, upstreamModel: "claude-x" });
const event = (data: Record<string, unknown>) =>
  `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;

const START = event({
  type: "message_start",
  message: {
    id: "msg_1",
    model: "claude-x-1",
    content: [],
    usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 5 },
  },
});
const text = (index: number, t: string) =>
  event({ type: "content_block_delta", index, delta: { type: "text_delta", text: t } });
const STOP =
  event({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 7 } }) +
  event({ type: "message_stop" });

const str = (b: Buffer | string) => (typeof b === "string" ? b : b.toString("utf8"));

function run(input: string, stripUsage = true): { out: string; t: StreamTranslator } {
  const t = chatStream(ctx, { stripUsage });
  const out = str(t.transform(Buffer.from(input))) + str(t.end());
  return { out, t };
}

/** The JSON payloads of the client's events ([DONE] as the string). */
const payloads = (out: string) =>
  out
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => (e === "data: [DONE]" ? "[DONE]" : (JSON.parse(e.slice(6)) as Record<string, unknown>)));

describe("anthropic chatStream", () => {
  it("holds the role chunk back until there is content", () => {
    const t = chatStream(ctx, { stripUsage: true });
    expect(str(t.transform(Buffer.from(START + event({ type: "ping" }))))).toBe("");
    const out = str(t.transform(Buffer.from(text(0, "Hi"))));
    expect(payloads(out)).toHaveLength(2);
    expect(out).toContain('"role":"assistant"');
    expect(out).toContain('"model":"claude-x-1"');
  });

  it("reads cumulative usage: the last message_delta wins, cache reads count as prompt tokens", () => {
    const { t } = run(START + text(0, "a") + STOP);
    expect(t.usage()).toEqual({ promptTokens: 15, completionTokens: 7, cachedTokens: 5, reasoningTokens: 0 });
    expect(t.failure()).toBeUndefined();
  });

  it.each([
    ["overloaded_error", "Overloaded", ErrorClass.UNAVAILABLE, 503],
    ["rate_limit_error", "slow down", ErrorClass.RATE_LIMITED, 429],
    ["api_error", "boom", ErrorClass.UNAVAILABLE, 500],
    [
      "invalid_request_error",
      "prompt is too long: 9 tokens > 8 maximum",
      ErrorClass.CONTEXT_LENGTH_EXCEEDED,
      400,
    ],
  ])("reports an %s event as a failure and passes it on", (type, message, errorClass, status) => {
    const { out, t } = run(
      `${START + text(0, "a")}event: error\ndata: ${JSON.stringify({ type: "error", error: { type, message } })}\n\n`,
    );
    expect(t.failure()?.errorClass).toBe(errorClass);
    expect(t.failure()?.status).toBe(status);
    const last = payloads(out).at(-1) as { error: { message: string } };
    expect(last.error.message).toBe(message);
    expect(out).not.toContain("[DONE]");
  });

  it("reports a first event that is not JSON as a malformed reply", () => {
    const { out, t } = run(`event: message_start\ndata: {"type":"message_start",\n\n${text(0, "a")}`);
    expect(t.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
    expect(out).toContain("upstream_malformed_response");
  });

  it("skips a later event that is not JSON", () => {
    const { out, t } = run(`${START}data: {oops\n\n${text(0, "a")}${STOP}`);
    expect(t.failure()).toBeUndefined();
    expect(out).toContain('"content":"a"');
  });

  it("reports a stream that ends before message_stop", () => {
    const { out, t } = run(START + text(0, "a"));
    expect(t.failure()?.errorClass).toBe(ErrorClass.UNAVAILABLE);
    expect(out).toContain("before message_stop");
  });

  it("leaves an empty stream empty (the engine reports it)", () => {
    const { out, t } = run("");
    expect(out).toBe("");
    expect(t.failure()).toBeUndefined();
  });

  it("reads CRLF framing and a last event without its blank line", () => {
    const { out, t } = run((START + text(0, "a") + STOP).replaceAll("\n", "\r\n").trimEnd());
    expect(t.failure()).toBeUndefined();
    expect(payloads(out).at(-1)).toBe("[DONE]");
  });

  it("numbers tool calls by call, sends a whole start input, drops thinking and unknown events", () => {
    const input =
      START +
      event({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }) +
      event({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }) +
      event({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }) +
      text(1, "Sure.") +
      event({
        type: "content_block_start",
        index: 2,
        content_block: { type: "tool_use", id: "toolu_a", name: "f", input: { x: 1 } },
      }) +
      event({ type: "content_block_stop", index: 2 }) +
      event({ type: "some_future_event" }) +
      event({
        type: "content_block_start",
        index: 3,
        content_block: { type: "tool_use", id: "toolu_b", name: "g", input: {} },
      }) +
      event({
        type: "content_block_delta",
        index: 3,
        delta: { type: "input_json_delta", partial_json: "{}" },
      }) +
      event({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } }) +
      event({ type: "message_stop" });
    const { out } = run(input, false);
    expect(out).not.toContain("hmm");
    const deltas = payloads(out)
      .filter((p): p is Record<string, unknown> => typeof p === "object")
      .flatMap((p) => (p.choices as Array<{ delta: { tool_calls?: unknown[] } }>).map((c) => c.delta));
    expect(deltas.flatMap((d) => d.tool_calls ?? [])).toEqual([
      { index: 0, id: "toolu_a", type: "function", function: { name: "f", arguments: "" } },
      { index: 0, function: { arguments: '{"x":1}' } },
      { index: 1, id: "toolu_b", type: "function", function: { name: "g", arguments: "" } },
      { index: 1, function: { arguments: "{}" } },
    ]);
    expect(out).toContain('"finish_reason":"tool_calls"');
    expect(out).toContain('"choices":[],"usage"');
  });

  it("gives the same output for a multi-byte character cut in two", () => {
    const input = START + text(0, "héllo ✓") + STOP;
    const bytes = Buffer.from(input);
    const cut = bytes.indexOf("✓") + 1;
    const t = chatStream(ctx, { stripUsage: true });
    const out =
      str(t.transform(bytes.subarray(0, cut))) + str(t.transform(bytes.subarray(cut))) + str(t.end());
    expect(out.replace(/"created":\d+/g, "")).toBe(run(input).out.replace(/"created":\d+/g, ""));
    expect(out).toContain("héllo ✓");
  });
});
