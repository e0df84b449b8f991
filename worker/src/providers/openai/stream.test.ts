import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Usage } from "../types.js";
import { chatStream } from "./stream.js";

const chunk = (content: string, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra,
  })}\n\n`;

const USAGE = {
  prompt_tokens: 1234,
  completion_tokens: 56,
  total_tokens: 1290,
  prompt_tokens_details: { cached_tokens: 1024 },
  completion_tokens_details: { reasoning_tokens: 32 },
};
const EXPECTED: Usage = { promptTokens: 1234, completionTokens: 56, cachedTokens: 1024, reasoningTokens: 32 };

const usageEvent = (usage: unknown = USAGE) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [],
    usage,
  })}\n\n`;

const DONE = "data: [DONE]\n\n";
const HEAD = chunk("Hel") + chunk("lo, ") + chunk("wörld ✓");
const STREAM = HEAD + usageEvent() + DONE;

const toBuffer = (b: Buffer | string) => (Buffer.isBuffer(b) ? b : Buffer.from(b));
const BOUNDARY = /(\n\n|\n\r\n)$/;

/**
 * Feeds `text` cut at `cuts` (byte offsets): the input is never modified,
 * every output ends at an event boundary (incomplete events are held), and
 * without stripping the outputs plus end() are the input, byte for byte.
 */
function feedAll(text: string, cuts: number[], stripUsage = false) {
  const bytes = Buffer.from(text, "utf8");
  const bounds = [0, ...cuts, bytes.length];
  const translator = chatStream({ stripUsage });
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = bytes.subarray(bounds[i], bounds[i + 1]);
    const copy = Buffer.from(part);
    const result = toBuffer(translator.transform(part));
    expect(part.equals(copy)).toBe(true);
    if (result.length > 0) expect(result.toString("latin1")).toMatch(BOUNDARY);
    out.push(result);
  }
  out.push(toBuffer(translator.end()));
  const all = Buffer.concat(out);
  // Passed through byte for byte; a stream that ended without [DONE] gets one.
  if (!stripUsage) expect([text, `${text}${DONE}`]).toContain(all.toString("utf8"));
  return { translator, text: all.toString("utf8") };
}

const feed = (text: string, cuts: number[]) => feedAll(text, cuts).translator.usage();

/** Byte offset of `needle` in the UTF-8 encoding of `text`. */
const byteOffset = (text: string, needle: string) => {
  const at = Buffer.from(text, "utf8").indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in text`);
  return at;
};

const usageStart = byteOffset(STREAM, '"usage"');
const usageObjectStart = usageStart + '"usage":'.length;
const usageEventEnd = byteOffset(STREAM, DONE);

describe("chatStream usage", () => {
  it.each<[string, number[]]>([
    ["the whole stream in one chunk", []],
    [
      "one chunk per event",
      STREAM.split(/(?<=\n\n)/).map((_, i, all) => Buffer.byteLength(all.slice(0, i + 1).join(""))),
    ],
    ["a cut right after the usage event", [usageEventEnd]],
    ["a cut between the newlines ending the usage event", [usageEventEnd - 1]],
  ])("is read from %s", (_name, cuts) => {
    expect(
      feed(
        STREAM,
        cuts.filter((c) => c > 0 && c < Buffer.byteLength(STREAM)),
      ),
    ).toEqual(EXPECTED);
  });

  // Every cut from just after the "usage" key to the end of the event: the usage JSON split in the middle.
  const jsonCuts = Array.from(
    { length: usageEventEnd - (usageStart + '"usage"'.length) },
    (_, i) => usageStart + '"usage"'.length + i,
  );
  it(`is read at each of the ${jsonCuts.length} cuts inside the usage JSON`, () => {
    expect(jsonCuts.length).toBeGreaterThan(100);
    for (const cut of jsonCuts) expect(feed(STREAM, [cut]), `cut at byte ${cut}`).toEqual(EXPECTED);
  });

  it.each([
    ["three pieces", [usageObjectStart + 5, usageObjectStart + 40]],
    [
      "a cut inside a content event and one inside the usage JSON",
      [byteOffset(STREAM, "ö") + 1, usageObjectStart + 20],
    ],
    ["many small pieces after the key", Array.from({ length: 30 }, (_, i) => usageStart + 8 + i * 4)],
  ])("is read from %s", (_name, cuts) => {
    expect(feed(STREAM, cuts)).toEqual(EXPECTED);
  });

  it.each<[string, string, Usage | undefined]>([
    ["a stream without a usage event", HEAD + DONE, undefined],
    ["an empty stream", "", undefined],
    [
      "usage: null on every chunk and no final usage (include_usage off)",
      chunk("a", { usage: null }) + chunk("b", { usage: null }) + DONE,
      undefined,
    ],
    [
      "usage: null on content chunks then the final usage",
      chunk("a", { usage: null }) + chunk("b", { usage: null }) + usageEvent() + DONE,
      EXPECTED,
    ],
    ["usage followed by a usage: null chunk", usageEvent() + chunk("late", { usage: null }) + DONE, EXPECTED],
    [
      "two usage events (the last one wins)",
      usageEvent({ prompt_tokens: 1, completion_tokens: 1 }) + usageEvent() + DONE,
      EXPECTED,
    ],
    [
      "usage without details",
      HEAD + usageEvent({ prompt_tokens: 7, completion_tokens: 8, total_tokens: 15 }) + DONE,
      { promptTokens: 7, completionTokens: 8, cachedTokens: 0, reasoningTokens: 0 },
    ],
    [
      'content that mentions "usage"',
      chunk('the "usage" key and {"usage":{"prompt_tokens":999}}') + DONE,
      undefined,
    ],
    [
      "keep-alive comments and a malformed usage event around the real one",
      `: keep-alive\n\n${'data: {"usage": {broken\n\n'}${usageEvent()}: ping\n\n${DONE}`,
      EXPECTED,
    ],
    ["a usage event without a terminating blank line yet", HEAD + usageEvent().trimEnd(), undefined],
  ])("handles %s", (_name, text, expected) => {
    expect(feed(text, [])).toEqual(expected);
    // Same result when every event is its own chunk.
    const cuts = text
      .split(/(?<=\n\n)/)
      .map((_, i, all) => Buffer.byteLength(all.slice(0, i + 1).join("")))
      .filter((c) => c > 0 && c < Buffer.byteLength(text));
    expect(feed(text, cuts)).toEqual(expected);
  });

  it("recovers after dropping an oversized unterminated event", () => {
    const runaway = `data: {"usage":${"x".repeat((1 << 20) + 10)}`;
    const translator = chatStream({ stripUsage: false });
    translator.transform(Buffer.from(runaway));
    translator.transform(Buffer.from(`\n\n${usageEvent()}${DONE}`));
    expect(translator.usage()).toEqual(EXPECTED);
  });

  it("keeps separate state per stream", () => {
    const a = chatStream({ stripUsage: false });
    const b = chatStream({ stripUsage: false });
    a.transform(Buffer.from(usageEvent()));
    expect(a.usage()).toEqual(EXPECTED);
    expect(b.usage()).toBeUndefined();
  });

  // Regression: the usage event starting in a chunk without the `"usage"` marker used to be lost.
  it.each([
    ["between the two newlines before the usage event", byteOffset(STREAM, usageEvent()) - 1],
    ["inside `data: ` of the usage event", byteOffset(STREAM, usageEvent()) + 3],
    ["just before the usage key", usageStart],
    ["inside the usage key", usageStart + 3],
  ])("keeps the usage when cut %s", (_name, cut) => {
    expect(feed(STREAM, [cut])).toEqual(EXPECTED);
  });
});

describe("chatStream on SSE variants the spec allows", () => {
  it("passes CRLF-framed and no-space events through unchanged", () => {
    const crlf = STREAM.replaceAll("\n", "\r\n");
    const noSpace = STREAM.replaceAll("data: ", "data:");
    for (const text of [crlf, noSpace]) feed(text, [7, 100]);
  });

  // SSE allows CRLF line endings and `data:` without a space.
  it.each([
    ["CRLF line endings", STREAM.replaceAll("\n", "\r\n")],
    ["`data:` without a space", STREAM.replaceAll("data: ", "data:")],
  ])("reads the usage of a stream with %s", (_name, text) => {
    expect(feed(text, [])).toEqual(EXPECTED);
  });
});

describe("chatStream removes the usage event the client did not ask for", () => {
  it.each<[string, number[]]>([
    ["in one chunk", []],
    ["cut inside the usage event", [usageStart + 10]],
    ["cut before the usage event", [byteOffset(STREAM, usageEvent()) - 1]],
  ])("%s", (_name, cuts) => {
    const { translator, text } = feedAll(STREAM, cuts, true);
    expect(text).toBe(HEAD + DONE);
    expect(translator.usage()).toEqual(EXPECTED);
  });

  it("keeps a usage object that rides on a content chunk", () => {
    const text = chunk("a", { usage: USAGE }) + DONE;
    expect(feedAll(text, [], true).text).toBe(text);
  });

  it("keeps the usage event when the client asked for it", () => {
    expect(feedAll(STREAM, [], false).text).toBe(STREAM);
  });
});

describe("chatStream error events", () => {
  const errorEvent = (code: string, type = "server_error") =>
    `data: ${JSON.stringify({ error: { message: "boom", type, param: null, code } })}\n\n`;

  it.each([
    ["server_error", "server_error", ErrorClass.UNAVAILABLE],
    ["context_length_exceeded", "invalid_request_error", ErrorClass.CONTEXT_LENGTH_EXCEEDED],
    ["content_filter", "invalid_request_error", ErrorClass.CONTENT_FILTER],
  ])("reports an error event with code %s as its class and passes it on", (code, type, expected) => {
    const text = chunk("a") + errorEvent(code, type);
    const { translator, text: out } = feedAll(text, [Buffer.byteLength(chunk("a")) + 5]);
    expect(out).toBe(text);
    expect(translator.failure()?.errorClass).toBe(expected);
    expect(JSON.parse(translator.failure()?.body ?? "{}").error.code).toBe(code);
  });

  it("does not take content mentioning an error for one", () => {
    const text = chunk('an "error": {"code":"x"} in text') + DONE;
    expect(feedAll(text, []).translator.failure()).toBeUndefined();
  });
});

describe("chatStream malformed replies", () => {
  it("reports a first data event that is not JSON as a malformed reply", () => {
    const text = `: comment\n\ndata: {"id":"x",\n\n${chunk("a")}${DONE}`;
    expect(feedAll(text, [5]).translator.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
  });

  it("reads the first event's data over several lines and CRLF framing", () => {
    const broken = `data: {"id":\r\ndata: "x",\r\n\r\n${chunk("a")}`;
    expect(feedAll(broken, []).translator.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
    const whole = `data: {"id":\r\ndata: "x"}\r\n\r\n${chunk("a")}${DONE}`;
    expect(feedAll(whole, []).translator.failure()).toBeUndefined();
  });

  it("takes a stream of [DONE] alone as no failure, and a first error event as the provider's error", () => {
    expect(feedAll(DONE, []).translator.failure()).toBeUndefined();
    const failed = 'data: {"error":{"message":"x","type":"server_error","code":null}}\n\n';
    expect(feedAll(failed, []).translator.failure()?.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it("accepts a stream whose first event is JSON, whatever follows", () => {
    const text = `${chunk("a")}data: not json\n\n${DONE}`;
    expect(feedAll(text, []).translator.failure()).toBeUndefined();
  });
});

describe("chatStream end of stream", () => {
  it("appends [DONE] when the upstream closed without it", () => {
    expect(feedAll(HEAD, []).text).toBe(HEAD + DONE);
  });

  it("does not append it twice, nor after an error event", () => {
    expect(feedAll(STREAM, []).text).toBe(STREAM);
    const failed = `${HEAD}data: {"error":{"message":"x","type":"server_error","code":null}}\n\n`;
    expect(feedAll(failed, []).text).toBe(failed);
  });
});
