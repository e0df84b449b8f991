import { describe, expect, it } from "vitest";
import { chatStream } from "../providers/openai/stream.js";
import type { ReplyBody } from "../upstream/streamed.js";
import { readUpstream } from "./upstream-stream.js";

/** A reply body fed by hand: `arrive` queues bytes, `end` ends it. */
function fakeBody() {
  const queue: Array<Buffer | null> = [];
  let waiting: ((r: IteratorResult<Buffer, undefined>) => void) | undefined;
  const result = (x: Buffer | null): IteratorResult<Buffer, undefined> =>
    x === null ? { done: true, value: undefined } : { done: false, value: x };
  const body: ReplyBody = {
    next: () => {
      const x = queue.shift();
      if (x !== undefined) return Promise.resolve(result(x));
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    read: () => (queue[0] === null ? null : queue.shift()),
    destroy: () => {},
    [Symbol.asyncIterator]: () => ({ next: () => body.next() }),
  };
  const push = (x: Buffer | null) => {
    const w = waiting;
    waiting = undefined;
    if (w) w(result(x));
    else queue.push(x);
  };
  return { body, arrive: (s: string) => push(Buffer.from(s)), end: () => push(null) };
}

const EVENT = 'data: {"choices":[{"delta":{"content":"a"}}]}\n\n';

describe("readUpstream.ready", () => {
  it("gives the translated bytes at hand, undefined while an event is incomplete, null at the end", async () => {
    const { body, arrive, end } = fakeBody();
    const stream = readUpstream(body, chatStream({ stripUsage: true }));
    expect(stream.ready()).toBeUndefined();
    arrive(EVENT);
    expect(String(stream.ready())).toBe(EVENT);
    // half an event is held by the translator: nothing to send yet
    arrive(EVENT.slice(0, 10));
    expect(stream.ready()).toBeUndefined();
    const rest = stream.next();
    arrive(EVENT.slice(10));
    expect(String(await rest)).toBe(EVENT);
    end();
    // the stream ended without [DONE]: the translator adds it, then the end
    expect(stream.ready()).toBe("data: [DONE]\n\n");
    expect(stream.ready()).toBeNull();
    expect(await stream.next()).toBeNull();
  });
});
