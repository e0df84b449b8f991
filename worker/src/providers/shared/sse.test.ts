import { describe, expect, it } from "vitest";
import { eventData, firstEventData } from "./sse.js";

describe("firstEventData", () => {
  it.each<[string, string, string | undefined]>([
    ["one event", 'data: {"a":1}\n\n', '{"a":1}'],
    ["no space after the colon", 'data:{"a":1}\n\n', '{"a":1}'],
    ["CRLF framing", 'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n', '{"a":1}'],
    ["comments and empty events before it", ': ping\n\ndata:\n\nevent: x\ndata: {"a":1}\n\n', '{"a":1}'],
    ["data over several lines", 'data: {"a":\ndata: 1}\n\ndata: 2\n\n', '{"a":\n1}'],
    ["an event name and an id around the data", "id: 7\nevent: delta\ndata: [DONE]\nretry: 5\n\n", "[DONE]"],
    ["only comments", ": ping\n\n: ping\n\n", undefined],
    ["nothing", "", undefined],
  ])("reads %s", (_name, text, expected) => {
    expect(firstEventData(text)).toBe(expected);
  });

  it("agrees with eventData on the first event that has data", () => {
    const events = ['data: {"x":[1,2]}', "data: a\ndata: b", 'event: e\r\ndata: {"y":"z"}'];
    for (const event of events)
      expect(firstEventData(`: c\n\n${event}\n\ndata: later\n\n`)).toBe(eventData(event));
  });
});
