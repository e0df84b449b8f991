import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { createDigestIndex, type Digested, digestWords } from "./digest-index.js";

/** A 32-byte digest whose first word is `w0` (signed or not) and whose other bytes come from `tail`. */
function digest(w0: number, tail = 0): Buffer {
  const b = createHash("sha256").update(`tail-${tail}`).digest();
  b.writeUInt32BE(w0 >>> 0, 0);
  return b;
}

const entry = (id: string, bytes: Buffer): Digested & { bytes: Buffer } => ({
  id,
  bytes,
  ...(digestWords(bytes) as NonNullable<ReturnType<typeof digestWords>>),
});

const latin1 = (b: Buffer) => b.toString("latin1");

describe("digestWords", () => {
  it("reads eight big-endian int32 words", () => {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(0x80000001, 0);
    b.writeUInt32BE(0x01020304, 28);
    expect(digestWords(b)).toEqual({
      w0: -0x7fffffff,
      w1: 0,
      w2: 0,
      w3: 0,
      w4: 0,
      w5: 0,
      w6: 0,
      w7: 0x01020304,
    });
  });

  it("refuses anything but 32 bytes", () => {
    expect(digestWords(Buffer.alloc(31))).toBeUndefined();
    expect(digestWords(Buffer.alloc(33))).toBeUndefined();
  });

  it("reads a digest inside a larger buffer at its own offset", () => {
    const whole = Buffer.concat([Buffer.from([9, 9, 9]), digest(7, 1)]);
    expect(digestWords(whole.subarray(3))).toEqual(digestWords(digest(7, 1)));
  });
});

describe("createDigestIndex", () => {
  it("finds an entry by the latin1 string of its digest, and nothing else", () => {
    const index = createDigestIndex<ReturnType<typeof entry>>();
    const e = entry("a", createHash("sha256").update("sk-gw-alpha").digest());
    index.put(e);
    expect(index.get(latin1(e.bytes))).toBe(e);
    expect(index.get(e.bytes.toString("hex"))).toBeUndefined();
    expect(index.get("sk-gw-alpha")).toBeUndefined();
    expect(index.get("")).toBeUndefined();
    expect(index.size).toBe(1);
  });

  it("never matches on the prefix alone: digests sharing the first word are told apart", () => {
    const index = createDigestIndex<ReturnType<typeof entry>>();
    const same = [
      entry("a", digest(0x1234, 1)),
      entry("b", digest(0x1234, 2)),
      entry("c", digest(0x1234, 3)),
    ];
    for (const e of same) index.put(e);
    for (const e of same) expect(index.get(latin1(e.bytes))).toBe(e);
    expect(index.get(latin1(digest(0x1234, 4)))).toBeUndefined();
    // Only the last byte differs.
    const near = Buffer.from(same[0]?.bytes as Buffer);
    near[31] = (near[31] as number) ^ 1;
    expect(index.get(latin1(near))).toBeUndefined();
  });

  it("finds entries whose first words differ but land on the same slot, across the end of the table", () => {
    const index = createDigestIndex<ReturnType<typeof entry>>();
    // Same low bits (the slot at any capacity up to 2^24), the last slot of a 16-slot table.
    const es = [0x0000000f, 0x1000000f, 0x2000000f, -0x0ffffff1].map((w0, i) =>
      entry(`e${i}`, digest(w0, i)),
    );
    for (const e of es) index.put(e);
    for (const e of es) expect(index.get(latin1(e.bytes))).toBe(e);
    index.remove("e0");
    expect(index.get(latin1((es[0] as ReturnType<typeof entry>).bytes))).toBeUndefined();
    for (const e of es.slice(1)) expect(index.get(latin1(e.bytes))).toBe(e);
    index.remove("e2");
    for (const e of [es[1], es[3]]) expect(index.get(latin1((e as ReturnType<typeof entry>).bytes))).toBe(e);
    expect(index.size).toBe(2);
  });

  it("keeps an entry at its home past the end of the table when a removal shifts the cluster", () => {
    const index = createDigestIndex<ReturnType<typeof entry>>();
    // A 16-slot table: homes 14 and 15, then 0 (after the wrap), each in its own slot.
    const [x, y, z] = [0x0e, 0x0f, 0x10].map((w0) => entry(`w${w0}`, digest(w0)));
    for (const e of [x, y, z]) index.put(e as ReturnType<typeof entry>);
    index.remove("w14");
    for (const e of [y, z]) expect(index.get(latin1((e as ReturnType<typeof entry>).bytes))).toBe(e);
  });

  it("replaces the entry of the same id and the entry of the same digest, telling onRemove", () => {
    const removed = vi.fn();
    const index = createDigestIndex<ReturnType<typeof entry>>(removed);
    const a = entry("a", digest(1, 1));
    index.put(a);
    const rotated = entry("a", digest(1, 2));
    index.put(rotated);
    expect(removed).toHaveBeenCalledWith(a);
    expect(index.get(latin1(a.bytes))).toBeUndefined();
    expect(index.get(latin1(rotated.bytes))).toBe(rotated);
    const twin = entry("b", digest(1, 2));
    index.put(twin);
    expect(removed).toHaveBeenCalledWith(rotated);
    expect(index.get(latin1(twin.bytes))).toBe(twin);
    expect(index.size).toBe(1);
    expect(index.remove("a")).toBeUndefined();
    expect(index.remove("b")).toBe(twin);
    expect(removed).toHaveBeenCalledTimes(3);
    expect(index.size).toBe(0);
  });

  it("clear empties it without calling onRemove", () => {
    const removed = vi.fn();
    const index = createDigestIndex<ReturnType<typeof entry>>(removed);
    for (let i = 0; i < 100; i++) index.put(entry(`k${i}`, digest(i, i)));
    index.clear();
    expect(index.size).toBe(0);
    expect(index.get(latin1(digest(5, 5)))).toBeUndefined();
    expect(removed).not.toHaveBeenCalled();
    index.put(entry("again", digest(5, 5)));
    expect(index.get(latin1(digest(5, 5)))?.id).toBe("again");
  });

  it("agrees with a map under random puts and removals, most of them colliding", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const index = createDigestIndex<ReturnType<typeof entry>>();
    const model = new Map<string, Buffer>();
    // Eight first words that share their low 12 bits: long clusters at every capacity the table takes.
    const prefixes = Array.from({ length: 8 }, (_, i) => (i << 28) | 0x5a5);
    for (let step = 0; step < 5000; step++) {
      const id = `k${rand(400)}`;
      if (rand(3) === 0) {
        index.remove(id);
        model.delete(id);
      } else {
        const bytes = digest(prefixes[rand(8)] as number, step);
        index.put(entry(id, bytes));
        model.set(id, bytes);
      }
      if (step % 250 === 0 || step === 4999) {
        expect(index.size).toBe(model.size);
        for (const [key, bytes] of model) expect(index.get(latin1(bytes))?.id).toBe(key);
        expect(index.get(latin1(digest(prefixes[rand(8)] as number, -1)))).toBeUndefined();
      }
    }
  });
});
