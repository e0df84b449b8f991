import { describe, expect, it } from "vitest";
import {
  encodeMessage,
  errorFrame,
  eventFrame,
  exceptionFrame,
} from "../../../../mock-provider/src/protocols/event-stream.js";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { chatStream } from "./stream.js";

const ctx = contextOf({
  provider: "bedrock",
  endpoint: "chat",
  stream: true,
  upstreamModel: "anthropic.claude-3-5-haiku-20241022-v1:0",
  settings: { region: "us-east-1" },
});

const START = eventFrame("messageStart", { role: "assistant" });
const text = (t: string, i = 0) =>
  eventFrame("contentBlockDelta", { contentBlockIndex: i, delta: { text: t } });
const STOP = eventFrame("messageStop", { stopReason: "end_turn" });
const META = eventFrame("metadata", { usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } });
const WHOLE = Buffer.concat([START, text("Hel"), text("lo"), STOP, META]);

/** Feeds `bytes` in pieces of `size`; returns the client's text, checking every output is whole events. */
function run(bytes: Buffer, size: number, stripUsage = true) {
  const t = chatStream(ctx, { stripUsage });
  let out = "";
  for (let i = 0; i < bytes.length; i += size) {
    const piece = bytes.subarray(i, i + size);
    const copy = Buffer.from(piece);
    const got = t.transform(piece).toString();
    expect(piece.equals(copy)).toBe(true);
    if (got !== "") expect(got).toMatch(/\n\n$/);
    out += got;
  }
  out += t.end().toString();
  return { t, out, events: out.split("\n\n").filter((e) => e !== "") };
}

const data = (event: string) => JSON.parse(event.slice("data: ".length)) as Record<string, unknown>;

describe("bedrock chatStream", () => {
  it("translates a text stream; usage is kept for accounting and stripped for the client", () => {
    const { t, events } = run(WHOLE, WHOLE.length);
    expect(events).toHaveLength(5);
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(data(events[3] as string).choices).toEqual([{ index: 0, delta: {}, finish_reason: "stop" }]);
    expect(t.usage()).toEqual({ promptTokens: 5, completionTokens: 2, cachedTokens: 0, reasoningTokens: 0 });
    expect(t.failure()).toBeUndefined();
  });

  it("sends the usage chunk before [DONE] when the client asked for it", () => {
    const { events } = run(WHOLE, 5, false);
    expect(data(events[4] as string)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, total_tokens: 7 },
    });
    expect(events[5]).toBe("data: [DONE]");
  });

  it("gives the same output whatever the chunking", () => {
    // `created` is the gateway's clock: it may tick between runs.
    const out = (size: number) => run(WHOLE, size, false).out.replace(/"created":\d+/g, '"created":0');
    const one = out(WHOLE.length);
    for (const size of [1, 3, 13, 100]) expect(out(size)).toBe(one);
  });

  it("ignores event types it does not know and reasoning deltas", () => {
    const bytes = Buffer.concat([
      START,
      eventFrame("contentBlockDelta", { contentBlockIndex: 0, delta: { reasoningContent: { text: "hmm" } } }),
      eventFrame("someFutureEvent", { x: 1 }),
      text("ok", 1),
      STOP,
    ]);
    const { events, t } = run(bytes, 7);
    expect(events.map((e) => (e.startsWith("data: {") ? data(e).choices : e))).toEqual([
      [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      [{ index: 0, delta: { content: "ok" }, finish_reason: null }],
      [{ index: 0, delta: {}, finish_reason: "stop" }],
      "data: [DONE]",
    ]);
    expect(t.failure()).toBeUndefined();
  });

  it.each([
    ["throttlingException", "Too many requests", ErrorClass.RATE_LIMITED, 429],
    ["modelStreamErrorException", "stream broke", ErrorClass.UNAVAILABLE, 502],
    ["internalServerException", "oops", ErrorClass.UNAVAILABLE, 500],
    ["serviceUnavailableException", "busy", ErrorClass.UNAVAILABLE, 503],
    [
      "validationException",
      "Input is too long for requested model.",
      ErrorClass.CONTEXT_LENGTH_EXCEEDED,
      400,
    ],
    ["validationException", "bad field", ErrorClass.BAD_REQUEST, 400],
  ])(
    "reports a %s frame (%s) as its class, as an error event, without [DONE]",
    (type, message, cls, status) => {
      const bytes = Buffer.concat([START, text("a"), exceptionFrame(type, message), text("never")]);
      const { t, events } = run(bytes, 4);
      expect(t.failure()?.errorClass).toBe(cls);
      expect(t.failure()?.status).toBe(status);
      expect(JSON.parse(t.failure()?.body ?? "{}").error.message).toBe(message);
      expect(events.at(-1)).toBe(`data: ${t.failure()?.body}`);
      expect(events).toHaveLength(3);
    },
  );

  it("fails before any chunk on an exception as the first frame (the engine can fail over)", () => {
    const { t, events } = run(exceptionFrame("throttlingException", "slow down"), 1000);
    expect(t.failure()?.errorClass).toBe(ErrorClass.RATE_LIMITED);
    expect(events).toHaveLength(1);
  });

  it("reports an unmodeled error frame by its error code", () => {
    const { t } = run(Buffer.concat([START, errorFrame("InternalFailure", "boom")]), 1000);
    expect(t.failure()?.errorClass).toBe(ErrorClass.UNAVAILABLE);
    expect(JSON.parse(t.failure()?.body ?? "{}").error).toMatchObject({
      message: "boom",
      code: "InternalFailure",
    });
  });

  it.each([
    ["a first frame with a bad CRC", Buffer.concat([Buffer.from(START).fill(0, 20, 21), STOP])],
    ["bytes that are not an event stream", Buffer.from('{"message":"not a stream"}')],
    [
      "an event whose payload is not JSON",
      encodeMessage({ ":event-type": "messageStart", ":message-type": "event" }, "{not json"),
    ],
  ])("reports %s as a malformed reply", (_name, input) => {
    const { t } = run(input, 5);
    expect(t.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
  });

  it("reports a stream that ends inside a frame", () => {
    const { t, events } = run(Buffer.concat([START, text("a"), STOP.subarray(0, 20)]), 1000);
    expect(t.failure()?.errorClass).toBe(ErrorClass.MALFORMED_RESPONSE);
    expect(events.at(-1)).toContain("upstream_malformed_response");
  });

  it("sends nothing for a stream without any event (the engine's malformed reply)", () => {
    const t = chatStream(ctx, { stripUsage: true });
    expect(t.end()).toBe("");
    expect(t.failure()).toBeUndefined();
  });
});
