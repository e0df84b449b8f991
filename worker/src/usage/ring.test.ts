import { describe, expect, it } from "vitest";
import { Ring } from "./ring.js";

describe("Ring", () => {
  it("keeps order, drops the oldest beyond capacity and returns it", () => {
    const r = new Ring<number>(3);
    expect([r.push(1), r.push(2), r.push(3)]).toEqual([undefined, undefined, undefined]);
    expect(r.push(4)).toBe(1);
    expect(r.size).toBe(3);
    expect(r.take(10)).toEqual([2, 3, 4]);
    expect(r.size).toBe(0);
  });

  it("puts items back at the front until full", () => {
    const r = new Ring<string>(3);
    r.push("c");
    expect(r.unshift("b")).toBe(true);
    expect(r.unshift("a")).toBe(true);
    expect(r.unshift("z")).toBe(false);
    expect(r.take(2)).toEqual(["a", "b"]);
    expect(r.shift()).toBe("c");
    expect(r.shift()).toBeUndefined();
  });

  it("wraps around many times without losing items", () => {
    const r = new Ring<number>(5);
    const out: number[] = [];
    for (let i = 0; i < 1000; i++) {
      r.push(i);
      if (i % 3 === 2) out.push(...r.take(3));
    }
    out.push(...r.take(10));
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("rejects a capacity below 1", () => {
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});
