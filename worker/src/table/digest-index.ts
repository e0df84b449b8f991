/**
 * Entries found by a SHA-256 digest (API keys), updated and removed by id as routing-table
 * deltas name them (issue 8, target 5).
 *
 * An open-addressing table (linear probing) of the entries themselves, indexed by the low bits
 * of the digest's first 32-bit word. Each entry carries its digest as eight int32 words, small
 * integers stored inside the object: a lookup reads one array slot and the entry it points to,
 * two cache misses at 100,000 keys, where a `Map` keyed by the digest string read a bucket, an
 * entry, the stored string and then the record. The first word only selects the slot and
 * filters: an entry is returned only when all eight words equal the presented digest's, so a
 * prefix collision moves on to the next slot. The table stays at most a quarter full (about
 * 1.1 slots read per hit) and a removal shifts the following entries back, with no tombstones.
 */

/** The SHA-256 digest of an entry, as eight big-endian int32 words. */
export interface DigestWords {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly w4: number;
  readonly w5: number;
  readonly w6: number;
  readonly w7: number;
}

export interface Digested extends DigestWords {
  readonly id: string;
}

export interface DigestIndex<V extends Digested> {
  /** Adds `value`, replacing the entry of the same id and any entry of the same digest. */
  put(value: V): void;
  /** Removes the entry of this id; returns it. */
  remove(id: string): V | undefined;
  /** The entry whose digest is `digest` (32 bytes as a latin1 string), else undefined. */
  get(digest: string): V | undefined;
  clear(): void;
  readonly size: number;
}

/** Bytes of a SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** The 32-bit big-endian word at `o` of a latin1 string, as an int32. */
function wordAt(s: string, o: number): number {
  return (
    (s.charCodeAt(o) << 24) | (s.charCodeAt(o + 1) << 16) | (s.charCodeAt(o + 2) << 8) | s.charCodeAt(o + 3)
  );
}

/** The words of a 32-byte digest; undefined for any other length (such an entry can never match). */
export function digestWords(digest: Uint8Array): DigestWords | undefined {
  if (digest.length !== DIGEST_BYTES) return undefined;
  const v = new DataView(digest.buffer, digest.byteOffset, DIGEST_BYTES);
  const w = (i: number) => v.getInt32(i * 4);
  return { w0: w(0), w1: w(1), w2: w(2), w3: w(3), w4: w(4), w5: w(5), w6: w(6), w7: w(7) };
}

/** Whether the last seven words of `e` are those of `s` (the first compared by the caller). */
function restEquals(e: DigestWords, s: string): boolean {
  return (
    e.w1 === wordAt(s, 4) &&
    e.w2 === wordAt(s, 8) &&
    e.w3 === wordAt(s, 12) &&
    e.w4 === wordAt(s, 16) &&
    e.w5 === wordAt(s, 20) &&
    e.w6 === wordAt(s, 24) &&
    e.w7 === wordAt(s, 28)
  );
}

const sameDigest = (a: DigestWords, b: DigestWords) =>
  a.w0 === b.w0 &&
  a.w1 === b.w1 &&
  a.w2 === b.w2 &&
  a.w3 === b.w3 &&
  a.w4 === b.w4 &&
  a.w5 === b.w5 &&
  a.w6 === b.w6 &&
  a.w7 === b.w7;

const MIN_CAPACITY = 16;

/** `onRemove`: called for each entry that leaves the index, but by `clear`. */
export function createDigestIndex<V extends Digested>(onRemove: (v: V) => void = () => {}): DigestIndex<V> {
  const byId = new Map<string, V>();
  let slots: Array<V | null> = [];
  let mask = 0;
  const reset = (n: number) => {
    slots = Array.from({ length: n }, () => null);
    mask = n - 1;
  };
  reset(MIN_CAPACITY);

  function insert(value: V): void {
    let i = value.w0 & mask;
    while (slots[i] !== null) i = (i + 1) & mask;
    slots[i] = value;
  }

  /** Empties slot `i` and shifts back the entries after it that would no longer be found. */
  function vacate(i: number): void {
    slots[i] = null;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = slots[j];
      if (e === null || e === undefined) return;
      const home = e.w0 & mask;
      // `e` stays when its home is cyclically in (i, j]: the probe from home reaches j without i.
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      slots[i] = e;
      slots[j] = null;
      i = j;
    }
  }

  function slotOf(value: V): number {
    let i = value.w0 & mask;
    while (slots[i] !== value) i = (i + 1) & mask;
    return i;
  }

  function remove(id: string): V | undefined {
    const old = byId.get(id);
    if (old === undefined) return undefined;
    byId.delete(id);
    vacate(slotOf(old));
    onRemove(old);
    return old;
  }

  function find(d: DigestWords): V | undefined {
    let i = d.w0 & mask;
    for (let e = slots[i]; e !== null && e !== undefined; e = slots[i]) {
      if (sameDigest(e, d)) return e;
      i = (i + 1) & mask;
    }
    return undefined;
  }

  return {
    put(value) {
      remove(value.id);
      const twin = find(value);
      if (twin !== undefined) remove(twin.id);
      if ((byId.size + 1) * 4 > slots.length) {
        reset(slots.length * 2);
        for (const e of byId.values()) insert(e);
      }
      byId.set(value.id, value);
      insert(value);
    },
    remove,
    get(digest) {
      if (digest.length !== DIGEST_BYTES) return undefined;
      const w0 = wordAt(digest, 0);
      let i = w0 & mask;
      for (let e = slots[i]; e !== null && e !== undefined; e = slots[i]) {
        // A prefix match alone never authenticates: all eight words must be equal.
        if (e.w0 === w0 && restEquals(e, digest)) return e;
        i = (i + 1) & mask;
      }
      return undefined;
    },
    clear() {
      byId.clear();
      reset(MIN_CAPACITY);
    },
    get size() {
      return byId.size;
    },
  };
}
