import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import type { StreamTranslator } from "../types.js";
import { chatStream } from "./stream.js";

const ctx = contextOf({ provider: "gemini", endpoint: "chat", stream: true, upstreamModel: "gemini-x" });
const str = (b: Buffer | string) => (typeof b === "string" ? b : b.toString("utf8"));
const sse = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`;
const chunk = (text: string, extra: Record<string, unknown> = {}) =>
  sse({
    candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...extra }],
    responseId: "r1",
  });
const USAGE = { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 };

function run(input: string, stripUsage = true): { out: string; t: StreamTranslator } {
  const t = chatStream(ctx, { stripUsage });
  const out = str(t.transform(Buffer.from(input))) + str(t.end());
  return { out, t };
}

/** The JSON of every data event but [DONE]. */
const datas = (out: string) =>
  out
    .split("\n\n")
    .filter((e) => e.startsWith("data: {"))
    .map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);

describe("Gemini stream translation", () => {
  it("reports a first event that is not JSON as a malformed reply and sends nothing", () => {
    const { out, t } = run(`data: {"candidates":[\r\n\r\n${chunk("a")}`);
    expect(t.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
    expect(out).toBe("");
  });

  it("skips a later event that is not JSON, and comments", () => {
    const { out, t } = run(
      `: keep-alive\r\n\r\n${chunk("a")}data: nope\r\n\r\n${chunk("b", { finishReason: "STOP" })}`,
    );
    expect(t.failure()).toBeUndefined();
    expect(
      datas(out).map((d) => (d.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content),
    ).toEqual(["", "a", "b", undefined]);
    expect(out.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it.each([
    [
      "an error object",
      { error: { code: 429, message: "Resource exhausted", status: "RESOURCE_EXHAUSTED" } },
      429,
    ],
    [
      "an error wrapped in an array",
      [{ error: { code: 503, message: "overloaded", status: "UNAVAILABLE" } }],
      503,
    ],
  ])("passes on %s as an OpenAI error event, ends without [DONE] and reports it", (_name, value, status) => {
    const { out, t } = run(chunk("a") + sse(value));
    const failure = t.failure();
    expect(failure?.status).toBe(status);
    expect(failure?.errorClass).toBe(status === 429 ? ErrorClass.RATE_LIMITED : ErrorClass.UNAVAILABLE);
    expect(out).toContain(`data: ${failure?.body}\n\n`);
    expect(out).not.toContain("[DONE]");
  });

  it("takes usage from the last event carrying it, and sends it only when not stripped", () => {
    const input =
      chunk("a", {}) +
      sse({
        candidates: [{ content: { parts: [{ text: "b" }] }, finishReason: "STOP" }],
        usageMetadata: USAGE,
      });
    const stripped = run(input, true);
    expect(stripped.t.usage()).toEqual({
      promptTokens: 3,
      completionTokens: 2,
      cachedTokens: 0,
      reasoningTokens: 0,
    });
    expect(datas(stripped.out).some((d) => "usage" in d)).toBe(false);
    const kept = datas(run(input, false).out);
    expect(kept.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it("keeps choices of several candidates apart and drops thought parts", () => {
    const input = sse({
      candidates: [
        {
          content: { parts: [{ text: "thinking", thought: true }, { text: "one" }] },
          index: 0,
          finishReason: "STOP",
        },
        { content: { parts: [{ text: "two" }] }, index: 1, finishReason: "MAX_TOKENS" },
      ],
    });
    const events = datas(run(input).out).map((d) => (d.choices as unknown[])[0]);
    expect(events).toContainEqual({ index: 0, delta: { content: "one" }, finish_reason: null });
    expect(events).toContainEqual({ index: 1, delta: { content: "two" }, finish_reason: null });
    expect(events).toContainEqual({ index: 1, delta: {}, finish_reason: "length" });
    expect(JSON.stringify(events)).not.toContain("thinking");
  });

  it("sends nothing for a stream without events (the engine calls that malformed)", () => {
    expect(run("").out).toBe("");
  });
});
