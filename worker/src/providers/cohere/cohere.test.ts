import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { cohereAdapter } from "./index.js";

/** What the golden fixtures do not show: failure classes, byte splits, the stream's edges. */
const ctx = contextOf({ provider: "cohere", endpoint: "chat", stream: true, upstreamModel: "command-r" });
const chat = cohereAdapter.chat as NonNullable<typeof cohereAdapter.chat>;

const event = (data: Record<string, unknown>) =>
  `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
const START = event({ type: "message-start", id: "c-1", delta: { message: { role: "assistant" } } });
const delta = (text: string) =>
  event({ type: "content-delta", index: 0, delta: { message: { content: { text } } } });
const end = (extra: Record<string, unknown>) =>
  event({
    type: "message-end",
    id: "c-1",
    delta: { usage: { tokens: { input_tokens: 3, output_tokens: 2 } }, ...extra },
  });

function run(text: string | Buffer, pieces = 1) {
  const t = chat.stream(ctx, { stripUsage: true });
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const size = Math.ceil(bytes.length / pieces) || 1;
  let out = "";
  for (let i = 0; i < bytes.length; i += size) out += t.transform(bytes.subarray(i, i + size)).toString();
  out += t.end().toString();
  return { out, failure: t.failure(), usage: t.usage() };
}

describe("cohere stream failures", () => {
  it.each([
    ["an ERROR ending", end({ finish_reason: "ERROR" }), ErrorClass.UNAVAILABLE],
    ["a TIMEOUT ending", end({ finish_reason: "TIMEOUT" }), ErrorClass.TIMEOUT],
    ["an error message", end({ finish_reason: "ERROR", error: "internal error" }), ErrorClass.UNAVAILABLE],
    [
      "an error event",
      'data: {"message":"too many tokens: the prompt is too long"}\n\n',
      ErrorClass.CONTEXT_LENGTH_EXCEEDED,
    ],
  ])("reports %s as its class, sends one error event and no [DONE]", (_name, tail, errorClass) => {
    const { out, failure, usage } = run(START + delta("Hi") + tail);
    expect(failure?.errorClass).toBe(errorClass);
    expect(out.endsWith(`data: ${failure?.body}\n\n`)).toBe(true);
    expect(out).not.toContain("[DONE]");
    if (tail.includes("message-end")) expect(usage?.completionTokens).toBe(2);
  });

  it("reports a first event that is not JSON as malformed, before any content", () => {
    const { out, failure } = run(
      `data: {"type":"message-st\n\n${delta("Hi")}${end({ finish_reason: "COMPLETE" })}`,
    );
    expect(failure?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
    expect(out).not.toContain("Hi");
  });

  it("reports a stream cut before message-end as unavailable", () => {
    expect(run(START + delta("Hi")).failure?.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it("sends nothing for an empty stream (the engine reads it as malformed)", () => {
    expect(run("")).toEqual({ out: "", failure: undefined, usage: undefined });
  });

  it("holds the role chunk until content, so an early error fails over cleanly", () => {
    const t = chat.stream(ctx, { stripUsage: true });
    expect(t.transform(Buffer.from(START))).toBe("");
    expect(t.transform(Buffer.from(end({ finish_reason: "ERROR", error: "x" })))).not.toContain("role");
  });
});

describe("cohere stream text", () => {
  it("keeps multi-byte characters cut between chunks", () => {
    const text = START + delta("wörld ✓ 😀") + end({ finish_reason: "COMPLETE" });
    const whole = run(text).out;
    for (const pieces of [3, 17, Buffer.byteLength(text)]) expect(run(text, pieces).out).toBe(whole);
    expect(whole).toContain("wörld ✓ 😀");
  });

  it("accepts CRLF framing and a [DONE] line after message-end", () => {
    const text = (START + delta("Hi") + end({ finish_reason: "COMPLETE" })).replaceAll("\n", "\r\n");
    const { out, failure } = run(`${text}data: [DONE]\r\n\r\n`);
    expect(failure).toBeUndefined();
    expect(out.match(/\[DONE\]/g)).toHaveLength(1);
  });
});

describe("cohere replies that are not completions", () => {
  it("reads an ERROR or TIMEOUT reply as unreadable (the engine may retry elsewhere)", () => {
    const reply = (finish_reason: string) =>
      Buffer.from(JSON.stringify({ id: "c", finish_reason, message: { role: "assistant", content: [] } }));
    const plain = { ...ctx, stream: false };
    expect(chat.response(reply("ERROR"), plain)).toBeUndefined();
    expect(chat.response(reply("TIMEOUT"), plain)).toBeUndefined();
    expect(chat.response(reply("COMPLETE"), plain)).toBeDefined();
    expect(chat.response(Buffer.from("<html>"), plain)).toBeUndefined();
  });
});
